"""The figure tables: what the dashboard and the liability report read, and the sales the push counts.

Each table holds sums keyed by text columns (days as ``YYYY-MM-DD``, store codes, kinds);
``central.positions`` keeps all but ``figure_sale_day`` current from the feed, and the push
adds its new sales to ``figure_sale_day`` itself (``add_sales``), since anonymous sales touch
no customer. Store ``""`` is no store (central's own corrections, debts); ``*`` the brand.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from peewee import AutoField, BigIntegerField, CharField, CompositeKey, TextField

from . import db
from .contributions import NO_STORE, day_of
from .models import ID, BaseModel


def _table(name: str, key: tuple[str, ...], **columns) -> type[BaseModel]:
    """A figure table: text key columns, integer sums."""
    fields = {column: CharField(max_length=16 if column == "store_code" else 60 if column == "tier" else 32)
              for column in key}
    fields.update({column: BigIntegerField(default=0) for column in columns})
    meta = type("Meta", (), {"table_name": name, "primary_key": CompositeKey(*key)})
    return type(name.title().replace("_", ""), (BaseModel,), {**fields, "Meta": meta})


FigureFlowDay = _table("figure_flow_day", ("day", "store_code", "kind"), points=0)
FigureFlowMonth = _table("figure_flow_month", ("month", "store_code", "kind"), points=0)
FigureLot = _table("figure_lot", ("store_code", "earned_day", "available_day", "expires_day"), points_left=0, repaid=0)
FigureMember = _table("figure_member", ("measure", "store_code", "day"), delta=0)
FigureBuyer = _table("figure_buyer", ("store_code", "day", "previous_day"), members=0)
FigureTier = _table("figure_tier", ("store_code", "tier"), members=0)
FigureSaleDay = _table("figure_sale_day", ("day", "store_code"), sales=0, member_sales=0, amount=0, member_amount=0)


class FigureCustomer(BaseModel):
    """One customer's part of the figure tables, as last added to them (``contributions.dumps``)."""

    customer_id = CharField(primary_key=True, max_length=ID)
    total = BigIntegerField(default=0)  # the customer row's running total when it was read
    tier = CharField(null=True, max_length=60)
    part = TextField()

    class Meta:
        table_name = "figure_customer"


class FigureMark(BaseModel):
    """How far the figures have read the feed (``feed``), and the members' running totals they
    hold; also how far the feed has been compacted (``compacted``, ``central.feed.compact``)."""

    name = CharField(primary_key=True, max_length=32)
    cursor = BigIntegerField(default=0)
    members_total = BigIntegerField(default=0)
    refreshed_at = CharField()

    class Meta:
        table_name = "figure_mark"


class TierChange(BaseModel):
    """A customer moved from one tier to another (``at``: when the feed announced it)."""

    id = AutoField()
    customer_id = CharField(max_length=ID)
    store_code = CharField(max_length=16)
    at = CharField(index=True)
    from_tier = CharField(max_length=60)
    to_tier = CharField(max_length=60)

    class Meta:
        table_name = "tier_change"


FIGURE_MODELS = [FigureFlowDay, FigureFlowMonth, FigureLot, FigureMember, FigureBuyer, FigureTier, FigureSaleDay,
                 FigureCustomer, FigureMark, TierChange]

# component -> (table, key columns, value columns)
SUMS = {
    "flow": ("figure_flow_day", ("day", "store_code", "kind"), ("points",)),
    "month": ("figure_flow_month", ("month", "store_code", "kind"), ("points",)),
    "lot": ("figure_lot", ("store_code", "earned_day", "available_day", "expires_day"), ("points_left", "repaid")),
    "member": ("figure_member", ("measure", "store_code", "day"), ("delta",)),
    "buyer": ("figure_buyer", ("store_code", "day", "previous_day"), ("members",)),
    "tier": ("figure_tier", ("store_code", "tier"), ("members",)),
}


# --- sales, counted by the push -------------------------------------------------------------


def add_sales(store: str, sales: Iterable[tuple[str, str | None, int]]) -> None:
    """Count a push's new sales, ``(at, customer_id, total)``, in its own transaction."""
    sums: dict[str, list[int]] = {}
    for at, customer_id, total in sales:
        day = sums.setdefault(day_of(at), [0, 0, 0, 0])
        member = customer_id is not None
        day[0] += 1
        day[1] += member
        day[2] += total
        day[3] += total if member else 0
    _add_sale_days({(day, store): values for day, values in sums.items()})


def _add_sale_days(sums: dict[tuple[str, str], list[int]]) -> None:
    columns = ("sales", "member_sales", "amount", "member_amount")
    db.insert_rows("figure_sale_day", ("day", "store_code", *columns),
                   [(*key, *values) for key, values in sorted(sums.items())],
                   "ON CONFLICT (day, store_code) DO UPDATE SET "
                   + ", ".join(f"{c} = figure_sale_day.{c} + excluded.{c}" for c in columns))


def rebuild_sales() -> None:
    """Count every stored sale again (after an upgrade or a bulk load; no push may run meanwhile)."""
    stores = dict(db.rows("SELECT id, store_code FROM device"))
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    cursor = db.execute("SELECT at, device_id, customer_id, total FROM sale")
    while True:
        page = cursor.fetchmany(10_000)
        if not page:
            break
        for at, device_id, customer_id, total in page:
            values = sums[(day_of(at), stores.get(device_id, NO_STORE))]
            member = customer_id is not None
            values[0] += 1
            values[1] += member
            values[2] += total
            values[3] += total if member else 0
    db.execute("DELETE FROM figure_sale_day")
    _add_sale_days(sums)
