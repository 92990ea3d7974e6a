"""RFC 8785 (JSON Canonicalization Scheme) for the float-free JSON of the change log.

The bytes produced here are what entries are hashed and signed over, so every other JCS
implementation must produce the same bytes for the same value. That is why anything where
implementations could disagree is refused instead of guessed: floats (ES6 number formatting is
not implemented, and money is integer minor units anyway), integers that an IEEE double cannot
hold exactly, lone surrogates (not representable in UTF-8) and non-JSON types.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .untrusted import MalformedJson, parse_json

__all__ = ["CanonicalError", "MAX_SAFE_INTEGER", "canonical_bytes", "parse_json_strict"]

# Largest integer every JCS implementation reads back exactly (JavaScript's
# Number.MAX_SAFE_INTEGER); beyond it, parsers that go through a double round.
MAX_SAFE_INTEGER = 2**53 - 1

# ES6 JSON.stringify escapes exactly these; everything else is written as literal UTF-8.
_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x20)}
_ESCAPES.update(
    {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
)
# A Python str holds code points, so any surrogate in it has no partner: a lone surrogate.
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CanonicalError(ValueError):
    """A value (or document) that has no single canonical form under our JCS profile."""


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a float-free JSON value.

    Accepts ``dict`` (str keys), ``list``/``tuple``, ``str``, ``int``, ``bool`` and ``None``.
    Object members are ordered by the UTF-16 code units of their keys, as RFC 8785 requires.
    Raises ``CanonicalError`` naming the offending path (e.g. ``$.numbers[0]``) for floats,
    integers beyond ``±MAX_SAFE_INTEGER``, non-str keys, lone surrogates and other types.
    """
    if _plain(value):
        # The common case on the hot path: every key ASCII (so code-point order is UTF-16
        # order) and only types json.dumps writes exactly as ES6 does. Lone surrogates make
        # the UTF-8 encoding fail and fall through to the careful path, which names them.
        try:
            return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        except (UnicodeEncodeError, RecursionError):
            pass
    out: list[str] = []
    try:
        _encode(value, "$", out)
    except RecursionError:
        raise CanonicalError("$: nesting too deep (or a reference cycle)") from None
    return "".join(out).encode("utf-8")


def _plain(value: Any) -> bool:
    """True when ``value`` holds only ASCII keys, safe integers, strings, bools, None and containers."""
    stack = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > 100_000:
            return False
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def _encode(value: Any, path: str, out: list[str]) -> None:
    # bool before int: bool is an int subclass, but True must not become 1.
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, str):
        out.append(_quote(value, path))
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(
                f"{path}: integer {int(value)} is outside ±(2**53-1); "
                "other JSON implementations cannot represent it exactly"
            )
        # int.__repr__ so an int subclass (IntEnum) cannot swap in its own text.
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value:
            raise CanonicalError(f"{path}: NaN is not JSON")
        raise CanonicalError(
            f"{path}: floats are not allowed (got {value!r}); use integers such as minor units"
        )
    elif isinstance(value, dict):
        _encode_object(value, path, out)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, f"{path}[{index}]", out)
        out.append("]")
    else:
        raise CanonicalError(f"{path}: {type(value).__name__} is not a JSON type")


def _encode_object(value: dict, path: str, out: list[str]) -> None:
    # Check keys before sorting: encoding a lone surrogate to UTF-16 would raise mid-sort.
    for key in value:
        if not isinstance(key, str):
            raise CanonicalError(
                f"{path}[{key!r}]: object keys must be str, not {type(key).__name__}"
            )
        if _SURROGATE.search(key):
            raise CanonicalError(f"{_child_path(path, key)}: key contains a lone surrogate")
    out.append("{")
    for index, key in enumerate(sorted(value, key=_utf16_order)):
        if index:
            out.append(",")
        out.append(_quote(key, path))
        out.append(":")
        _encode(value[key], _child_path(path, key), out)
    out.append("}")


def _utf16_order(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units, which
    # differs from code-point order once keys mix astral characters with U+E000..U+FFFF.
    return key.encode("utf-16-be")


def _quote(text: str, path: str) -> str:
    if _SURROGATE.search(text):
        raise CanonicalError(f"{path}: string contains a lone surrogate")
    return '"' + text.translate(_ESCAPES) + '"'


def _child_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    # ensure_ascii keeps the message printable even for control characters.
    return f"{path}[{json.dumps(key)}]"


def parse_json_strict(document: str | bytes) -> Any:
    """Parse an untrusted JSON document, refusing what could not be canonicalized faithfully.

    ``sync.untrusted.parse_json`` (invalid JSON, ``NaN``/``Infinity``, duplicate object keys,
    lone surrogates, runaway nesting) with floats refused too: any number with a fraction or
    exponent, so ``56.0`` as well. Raises ``CanonicalError``. The result may still hold
    integers beyond ``MAX_SAFE_INTEGER``, which ``canonical_bytes`` refuses, so canonicalize
    before trusting it.
    """
    if not isinstance(document, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"expected str or bytes, not {type(document).__name__}")
    try:
        return parse_json(document, parse_float=_refuse_float)
    except MalformedJson as exc:
        raise CanonicalError(f"not valid JSON: {exc}") from None


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"floats are not allowed (got {text})")
