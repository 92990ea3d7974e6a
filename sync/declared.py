"""Bodies declared once: pydantic models in strict mode give the validation and the OpenAPI.

A request body is a ``Body`` subclass. ``read`` checks untrusted JSON against it and, on
failure, raises ``BodyProblems`` carrying every problem in the contract's shape
(``{"path": "lines[0].qty", "message": "…"}``); ``checked`` also runs the body's cross-field
rules and raises the 422 ``validation_error`` both apps answer (``sync.refusal``), with no web
framework loaded. ``components`` gives the OpenAPI schemas of the same classes, so the
document and the validation can never drift apart.

Strict mode means no coercion: ``"12"`` is not an integer, ``true`` is not ``1``, a float is
never money. Unknown fields are refused. Text fields use ``Text``, which applies the change
log's text rule (no control characters) and a length limit.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterable, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .refusal import invalid_body

__all__ = ["Body", "Reply", "BodyProblems", "Field", "Text", "Count", "Money", "components", "problems_of", "read",
           "checked"]

M = TypeVar("M", bound=BaseModel)

MAX_MONEY = 10**11
"""One billion in major units: beyond any till, well inside int64 and JSON's safe integers."""


class Body(BaseModel):
    """A JSON request body: strict types, unknown fields refused, immutable once read."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Reply(BaseModel):
    """A JSON response body, declared for the OpenAPI document; later releases may add fields."""

    model_config = ConfigDict(extra="allow")


def Text(max_length: int, min_length: int = 1, pattern: str | None = None) -> Any:  # noqa: N802 (a type)
    """A string of ``min_length``–``max_length`` characters without control characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length,
                                            pattern=pattern or r"^[^\x00-\x1f\x7f]*$")]


Count = Annotated[int, Field(ge=0, le=MAX_MONEY)]
"""A non-negative integer (quantities, points)."""

Money = Annotated[int, Field(ge=0, le=MAX_MONEY)]
"""A non-negative amount in minor units."""


class BodyProblems(ValueError):
    """A body that does not match its declaration; ``problems`` lists every one."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first['path']}: {first['message']}{more}")
        self.problems = problems


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_pattern_mismatch": "must not contain control characters",
}


def _path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "$"


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "int_type" and isinstance(error.get("input"), float):
        return "must be an integer (amounts are in minor units, no decimals)"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    if kind == "string_too_short":
        minimum = context.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {minimum} characters"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    bounds = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}
    if kind in bounds:
        return f"must be {bounds[kind]} {next(iter(context.values()), '')}"
    return _MESSAGES.get(kind) or error["msg"]


def problems_of(error: ValidationError) -> list[dict[str, str]]:
    """Every problem of a failed validation, as the contract's ``{"path", "message"}`` list."""
    return [{"path": _path(e["loc"]), "message": _message(e)} for e in error.errors(include_url=False)]


def read(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    """``data`` as a ``model``; ``BodyProblems`` listing every problem when it does not fit.

    ``context`` reaches the declaration's validators (e.g. today's date for a birth date).
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise BodyProblems(problems_of(exc)) from None


def checked(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    """``data`` as its declared ``model``, its cross-field rules (a ``problems()`` method) checked;
    ``422 validation_error`` (``sync.refusal``) listing every problem."""
    try:
        body = read(model, data, context)
    except BodyProblems as exc:
        raise invalid_body(exc.problems) from None
    problems = body.problems() if hasattr(body, "problems") else []
    if problems:
        raise invalid_body(problems)
    return body


def components(*models: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``components.schemas`` for these bodies (and every model they use)."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas
