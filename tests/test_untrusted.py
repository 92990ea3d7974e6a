"""The strict body parser and the integer-parameter reader both servers use (sync/untrusted.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.untrusted import MAX_DEPTH, MAX_INT64, BadCount, MalformedJson, parse_count, parse_json

# Text without surrogates (category Cs): exactly what UTF-8 can carry.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.booleans())
def test_any_plain_document_reads_back_as_itself(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only)
    assert parse_json(raw.encode()) == value
    assert parse_json(raw) == value


@given(st.dictionaries(texts, st.integers(), min_size=1, max_size=4), st.data())
def test_a_repeated_key_is_always_refused(value, data):
    key = data.draw(st.sampled_from(sorted(value)))
    raw = json.dumps(value)[:-1] + f", {json.dumps(key)}: 0}}"
    with pytest.raises(MalformedJson, match="duplicate key"):
        parse_json(raw.encode())


@given(st.integers(0xD800, 0xDFFF), st.sampled_from(['{"a": "%s"}', '["x", "%s"]', '{"%s": 1}', '"%s"']))
def test_a_lone_surrogate_anywhere_is_refused(code, shape):
    raw = (shape % f"\\u{code:04x}").encode()
    with pytest.raises(MalformedJson, match=r"lone surrogate \(\\u%04x\) is not valid Unicode" % code):
        parse_json(raw)


def test_surrogate_pairs_are_one_character_and_the_message_names_the_path():
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001F600"}
    with pytest.raises(MalformedJson, match=r"^\$\.lines\[1\]\.sku: a lone surrogate"):
        parse_json(b'{"lines": [{"sku": "A"}, {"sku": "\\ude00\\ud83d"}]}')


@pytest.mark.parametrize("raw", [b"[" * 100_000, b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
                                 b'{"a":' * 200 + b"1" + b"}" * 200])
def test_deep_nesting_is_refused(raw):
    with pytest.raises(MalformedJson, match="nested deeper"):
        parse_json(raw)


def test_nesting_up_to_the_limit_is_fine():
    raw = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(raw) is not None


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"\xff", b"\xef\xbb\xbf{}", b"{", b""])
def test_not_json_is_refused(raw):
    with pytest.raises(MalformedJson):
        parse_json(raw)


def test_floats_go_to_the_callers_hook():
    assert parse_json(b"[1.5]") == [1.5]
    assert parse_json(b"[1.5, 2e3]", parse_float=lambda text: ("float", text)) == [("float", "1.5"), ("float", "2e3")]


@given(st.integers(0, MAX_INT64))
def test_counts_read_back(number):
    assert parse_count(str(number)) == number


@given(st.text(max_size=25))
def test_only_ascii_digits_in_range_count(text):
    valid = text.isascii() and text.isdigit() and int(text) <= MAX_INT64
    if valid:
        assert parse_count(text) == int(text)
    else:
        with pytest.raises(BadCount, match="ASCII digits"):
            parse_count(text)


@pytest.mark.parametrize("text", ["²", "５", "٣", "+1", "-1", " 1", "1 ", "1_0", "0x1", "", str(2**63), str(2**64)])
def test_counts_refuse_what_int_would_take(text):
    with pytest.raises(BadCount):
        parse_count(text)


def test_count_bounds():
    assert parse_count("5000", low=1, high=5000) == 5000
    for text in ("0", "5001"):
        with pytest.raises(BadCount, match="from 1 to 5000"):
            parse_count(text, low=1, high=5000)
    with pytest.raises(BadCount):
        parse_count(None)
