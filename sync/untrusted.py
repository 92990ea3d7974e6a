"""Reading untrusted request input the same way on the edge and at central.

Pure functions, no Flask: each app turns the errors raised here into its own 4xx answer
(``400 malformed_json`` for bodies, ``400 bad_query`` or ``404`` for parameters).

- ``parse_json`` is the one strict JSON parser for request bodies. Python's ``json`` module
  is lenient where a lenient reading is dangerous: duplicate keys silently keep the last
  value (another parser may keep the first), ``NaN``/``Infinity`` are not JSON at all, a
  ``\\udc00`` escape yields a lone surrogate that cannot be encoded as UTF-8 (so it fails
  later, deep inside a database driver or a log line), and deep nesting overflows the stack.
- ``parse_count`` reads a bounded non-negative integer from a query or path parameter.
  ``str.isdigit`` and ``int`` accept ``²``, ``５`` and other Unicode digits; only ASCII
  digits count here, and the bounds keep values inside a database's 64-bit integers.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

MAX_DEPTH = 64  # our documents nest a handful of levels; a push of entries about eight
MAX_INT64 = 2**63 - 1  # SQLite INTEGER and PostgreSQL bigint both stop here

_SURROGATE = re.compile("[\ud800-\udfff]")
# A surrogate can only come from a \uD800-\uDFFF escape: UTF-8 cannot carry one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_DIGITS = re.compile(r"[0-9]{1,19}")


class MalformedJson(ValueError):
    """A request body that is not one well-formed, unambiguous JSON document."""


class BadCount(ValueError):
    """A parameter that is not an integer within its bounds; the message names the bounds."""


def parse_json(raw: bytes | str, *, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Parse a request body strictly; raise ``MalformedJson`` saying what is wrong.

    ``bytes`` must be UTF-8 (no byte order mark). Refused: invalid JSON, duplicate object keys,
    ``NaN``/``Infinity``, strings or keys holding a lone surrogate, nesting deeper than
    ``MAX_DEPTH``. Numbers with a fraction or exponent go to ``parse_float`` (``float`` by
    default), so each caller decides how to report them.
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson(f"the body is not UTF-8: {exc}") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=_refuse_constant,
                           object_pairs_hook=_unique_object)
    except MalformedJson:
        raise
    except RecursionError:
        raise MalformedJson(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError, or what parse_float raised
        raise MalformedJson(str(exc)) from None
    # Only documents that could hold a surrogate or nest deeply need the walk over the value.
    strings = not isinstance(raw, (bytes, bytearray, memoryview)) or bool(_SURROGATE_ESCAPE.search(text))
    if strings or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_value(value, strings)
    return value


def parse_count(text: str | None, *, low: int = 0, high: int = MAX_INT64) -> int:
    """An integer ``low``..``high`` written in ASCII digits only; else ``BadCount``.

    No sign, no spaces, no ``_``, no Unicode digits: ``"12"`` is 12, ``"１２"``, ``"²"``,
    ``"+1"`` and ``" 1"`` are refused, and so is anything past ``high`` (by default the
    largest 64-bit integer, so the value always fits a database column).
    """
    if text is None or not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise BadCount(f"must be an integer from {low} to {high}, in ASCII digits")
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not valid JSON (JSON numbers are finite)")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"duplicate key {_shown(key)} in an object (which one counts is ambiguous)")
            seen.add(key)
    return result


def _check_value(value: Any, strings: bool) -> None:
    """Refuse nesting past ``MAX_DEPTH`` and (when ``strings``) lone surrogates, without recursion."""
    walked = _WALKED if strings else _CONTAINERS
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if _SURROGATE.search(item):
                _refuse_surrogate(value)
        elif kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                raise MalformedJson(f"it is nested deeper than {MAX_DEPTH} levels")
            if kind is dict:
                for key in item:
                    if _SURROGATE.search(key):
                        _refuse_surrogate(value)
                children = item.values()
            else:
                children = item
            stack.extend((child, depth + 1) for child in children if type(child) in walked)


_CONTAINERS = frozenset({dict, list})
_WALKED = frozenset({str, dict, list})


def _refuse_surrogate(value: Any) -> None:
    """Raise naming where the first lone surrogate is (the walk that found it kept no paths)."""
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if key.isidentifier() else f"{path}[{_shown(key)}]"
                if _SURROGATE.search(key):
                    _refuse_at(child_path, key)
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str) and _SURROGATE.search(item):
            _refuse_at(path, item)
    raise AssertionError("no lone surrogate found")  # pragma: no cover - the caller saw one


def _refuse_at(path: str, text: str) -> None:
    code = ord(_SURROGATE.search(text).group())
    printable = path.encode("ascii", "backslashreplace").decode("ascii")
    raise MalformedJson(f"{printable}: a lone surrogate (\\u{code:04x}) is not valid Unicode")


def _shown(text: str) -> str:
    """``text`` quoted with every non-ASCII character escaped, so any message stays printable."""
    return json.dumps(text[:64])
