"""RFC 8785 canonical bytes: the published vectors, our refusals, and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes, parse_json_strict


# The published vectors live in the repository (tests/data/rfc8785/README.md: source, licence).
VECTORS = Path(__file__).resolve().parent / "data" / "rfc8785"
MATCHING = ["arrays", "french", "unicode", "weird"]
WITH_FLOATS = ["values", "structures"]


@pytest.fixture
def vectors() -> Path:
    # Fail, not skip: a missing folder would otherwise pass CI with no vector checked.
    if not (VECTORS / "input").is_dir() or not (VECTORS / "output").is_dir():
        pytest.fail(f"RFC 8785 test vectors not found at {VECTORS}")
    return VECTORS


@pytest.mark.parametrize("name", MATCHING)
def test_vector_matches_byte_for_byte(vectors: Path, name: str) -> None:
    document = parse_json_strict((vectors / "input" / f"{name}.json").read_bytes())
    expected = (vectors / "output" / f"{name}.json").read_bytes()
    assert canonical_bytes(document) == expected


@pytest.mark.parametrize("name", WITH_FLOATS)
def test_vector_with_floats_is_refused(vectors: Path, name: str) -> None:
    raw = (vectors / "input" / f"{name}.json").read_bytes()
    with pytest.raises(CanonicalError, match="float"):
        parse_json_strict(raw)
    with pytest.raises(CanonicalError, match="float"):
        canonical_bytes(json.loads(raw))


def test_weird_catches_code_point_ordering(vectors: Path) -> None:
    # The point of weird.json: an astral key sorts before U+FB33 in UTF-16 order.
    out = canonical_bytes(json.loads((vectors / "input" / "weird.json").read_bytes()))
    assert out.index("😂".encode()) < out.index("\ufb33".encode())
    assert out != json.dumps(
        json.loads(out), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()


# --- scalars and strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, b"null"),
        (True, b"true"),
        (False, b"false"),
        (0, b"0"),
        (-0, b"0"),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        ("", b'""'),
        ("\b\t\n\f\r", b'"\\b\\t\\n\\f\\r"'),
        ("\x00\x0b\x1f\x7f", b'"\\u0000\\u000b\\u001f\x7f"'),
        ('"\\/', b'"\\"\\\\/"'),
        ("é€😂</script>", "\"é€😂</script>\"".encode()),
        ([], b"[]"),
        ((1, "a", None), b'[1,"a",null]'),
        ({}, b"{}"),
        ({"b": [True, False], "a": {"y": 1, "x": 2}}, b'{"a":{"x":2,"y":1},"b":[true,false]}'),
    ],
)
def test_known_encodings(value: object, expected: bytes) -> None:
    assert canonical_bytes(value) == expected


def test_astral_key_sorts_before_high_bmp_key() -> None:
    # Code-point order would put U+1F602 last; UTF-16 compares its high surrogate 0xD83D.
    assert canonical_bytes({"\ufb33": 1, "😂": 2, "a": 3}) == '{"a":3,"😂":2,"\ufb33":1}'.encode()


def test_bool_is_not_int() -> None:
    assert canonical_bytes([True, 1, False, 0]) == b"[true,1,false,0]"
    assert canonical_bytes({"a": True}) != canonical_bytes({"a": 1})


@pytest.mark.parametrize("number", [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30])
def test_big_integers_refused(number: int) -> None:
    with pytest.raises(CanonicalError, match=r"\$\[0\]: integer"):
        canonical_bytes([number])


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\ude02\ud83d"])
def test_lone_surrogate_refused(text: str) -> None:
    with pytest.raises(CanonicalError, match="lone surrogate"):
        canonical_bytes({"s": text})
    with pytest.raises(CanonicalError, match="lone surrogate"):
        canonical_bytes({text: 1})


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"numbers": [56.0]}, r"\$\.numbers\[0\]: floats"),
        ({"a": {"b c": [1, {"d": float("nan")}]}}, r'\$\.a\["b c"\]\[1\]\.d: NaN'),
        ({"a": [float("inf")]}, r"\$\.a\[0\]: floats"),
        ({"a": {1: "x"}}, r"\$\.a\[1\]: object keys must be str"),
        ({"when": {1, 2}}, r"\$\.when: set is not a JSON type"),
        ([b"bytes"], r"\$\[0\]: bytes is not a JSON type"),
        ({"\n": [[2**60]]}, r'\$\["\\n"\]\[0\]\[0\]: integer'),
    ],
)
def test_refusals_name_the_path(value: object, path: str) -> None:
    with pytest.raises(CanonicalError, match=path):
        canonical_bytes(value)


def test_reference_cycle_refused() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(CanonicalError, match="nesting too deep"):
        canonical_bytes(loop)


# --- strict parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"a": 1.5}', "float"),
        ('{"a": 56.0}', "float"),
        ("[1e3]", "float"),
        ("[NaN]", "NaN"),
        ("[-Infinity]", "Infinity"),
        ('{"a": 1, "a": 2}', "duplicate"),
        ('{"x": {"a": 1, "a": 1}}', "duplicate"),
        ('{"a": ', "not valid JSON"),
        (b"\xff[]", "not UTF-8"),
        ("\ufeff[]", "not valid JSON"),
    ],
)
def test_parse_json_strict_refuses(document: str | bytes, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        parse_json_strict(document)


def test_parse_json_strict_accepts_plain_json() -> None:
    assert parse_json_strict(b'{"a": [1, -2, true, null, "\\u00e9"]}') == {
        "a": [1, -2, True, None, "é"]
    }


# --- properties ---------------------------------------------------------------------------

# Text without surrogates (category Cs): exactly what UTF-8 and JSON can carry.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=25,
)


def _reference(value: object) -> bytes:
    # An independent rendering: json.dumps already writes JCS strings and integers, so
    # only the key order needs rebuilding.
    def reorder(item: object) -> object:
        if isinstance(item, dict):
            return {k: reorder(item[k]) for k in sorted(item, key=lambda k: k.encode("utf-16-be"))}
        if isinstance(item, list):
            return [reorder(x) for x in item]
        return item

    return json.dumps(reorder(value), ensure_ascii=False, separators=(",", ":")).encode()


@given(json_values)
def test_round_trip_and_idempotent(value: object) -> None:
    out = canonical_bytes(value)
    assert json.loads(out) == value
    assert canonical_bytes(json.loads(out)) == out
    assert parse_json_strict(out) == value
    assert out == _reference(value)


@given(st.dictionaries(texts, st.integers(0, 9), min_size=2, max_size=8))
def test_keys_in_utf16_order(value: dict[str, int]) -> None:
    keys = list(json.loads(canonical_bytes(value)))
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))
    units = [k.encode("utf-16-be") for k in keys]
    assert units == sorted(units)


@given(json_values)
def test_tuples_encode_like_lists(value: object) -> None:
    assert canonical_bytes((value, [value])) == canonical_bytes([value, (value,)])
