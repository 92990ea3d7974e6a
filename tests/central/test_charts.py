"""Server-side SVG charts: well-formed, labelled for screen readers, every bar with its value."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from central.ui.charts import _ticks, bar_chart, hbar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_a_bar_chart_names_itself_and_every_bar():
    svg = _parse(bar_chart("Points per day", ["1 Oct", "2 Oct"], [("earned", [120, 80]), ("spent", [30, 0])],
                           "Points earned and spent each day"))
    assert svg.get("role") == "img"
    labelled = svg.get("aria-labelledby").split()
    assert [svg.find(f".//*[@id='{key}']").text for key in labelled] == ["Points per day",
                                                                          "Points earned and spent each day"]
    bars = [rect.find(f"{SVG}title").text for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert bars == ["1 Oct: earned 120", "1 Oct: spent 30", "2 Oct: earned 80", "2 Oct: spent 0"]


def test_text_is_escaped():
    svg = _parse(hbar_chart("<script>alert(1)</script>", [("S&1 <b>", 5)]))
    assert svg.find(f"{SVG}title").text == "<script>alert(1)</script>"
    assert not list(svg.iter("script")) and not list(svg.iter(f"{SVG}script"))


def test_negative_bars_hang_below_the_axis():
    svg = _parse(bar_chart("Closing by store", ["S001", "S002"], [("closing", [30, -12])]))
    axis = next(line for line in svg.iter(f"{SVG}line") if line.get("class") == "axis")
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    zero = float(axis.get("y1"))
    assert float(bars[0].get("y")) + float(bars[0].get("height")) <= zero + 0.1
    assert abs(float(bars[1].get("y")) - zero) < 0.1


@given(low=st.integers(-10**9, 0), high=st.integers(0, 10**9))
@settings(max_examples=200, deadline=None)
def test_ticks_cover_the_range_in_round_steps(low, high):
    ticks = _ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    steps = {b - a for a, b in zip(ticks, ticks[1:])}
    assert len(steps) <= 1 and len(ticks) <= 12
    assert 0 in ticks or not (ticks[0] <= 0 <= ticks[-1])
