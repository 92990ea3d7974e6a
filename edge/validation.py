"""Reading request bodies: strict JSON, then the body's declaration (``edge.schemas``).

JSON is parsed strictly (``sync.untrusted.parse_json``: no duplicate keys, NaN, lone
surrogates or runaway nesting): 400 ``malformed_json``. The document is then read into its
declared class, and the rules that tie its fields together are checked: every problem is
listed in one 422 ``validation_error``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sync.declared import BodyProblems, read
from sync.untrusted import MalformedJson, parse_json

from .errors import ApiError

B = TypeVar("B")


def parse_body(raw: bytes) -> Any:
    """Parse a request body; ``400 malformed_json`` when it is not JSON at all."""
    if not raw:
        raise ApiError(400, "malformed_json", "the request body must be a JSON document")
    try:
        return parse_json(raw)
    except MalformedJson as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None


def invalid(problems: list[dict[str, str]]) -> ApiError:
    """422 ``validation_error`` listing ``problems``."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ApiError(422, "validation_error", f"{first['path']}: {first['message']}{more}", {"problems": problems})


def read_body(model: type[B], data: Any, context: dict[str, Any] | None = None) -> B:
    """``data`` as its declared ``model``, its cross-field rules checked; 422 listing every problem."""
    try:
        body = read(model, data, context)
    except BodyProblems as exc:
        raise invalid(exc.problems) from None
    problems = body.problems() if hasattr(body, "problems") else []
    if problems:
        raise invalid(problems)
    return body
