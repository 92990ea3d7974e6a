"""Reading request bodies: strict JSON, then the body's declaration (``edge.schemas``).

The shared layer does both (``sync.refusal``, ``sync.declared``): JSON is parsed strictly (no duplicate keys,
NaN, lone surrogates or runaway nesting: 400 ``malformed_json``), then the document is read
into its declared class and the rules that tie its fields together are checked: every problem
is listed in one 422 ``validation_error``. These names stay for the services that use them.
"""

from __future__ import annotations

from sync.refusal import invalid_body as invalid
from sync.declared import checked as read_body
from sync.refusal import parse_body

__all__ = ["invalid", "parse_body", "read_body"]
