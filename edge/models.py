"""Peewee models of the edge database.

Customer balances are never stored: they are folds over ``PointMovement`` rows (see
``shared.ledger``). Every write that changes state also appends a ``LogEntry`` in the same
transaction (``edge.changelog``).
"""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .db import database


class BaseModel(Model):
    class Meta:
        database = database


class Setting(BaseModel):
    """Key/value facts about this box: store code, device id, HLC high-water mark."""

    key = CharField(primary_key=True)
    value = TextField()


class RulesVersion(BaseModel):
    """A rules document this edge may apply; version 0 is the local one from ``init``."""

    version = IntegerField(primary_key=True)
    effective_from = CharField(null=True)
    document = TextField()
    installed_at = CharField()


class Till(BaseModel):
    id = CharField(primary_key=True)
    name = CharField()
    key_hash = CharField(unique=True)
    created_at = CharField()
    revoked = BooleanField(default=False)


class Customer(BaseModel):
    id = CharField(primary_key=True)
    card_number = CharField(unique=True)
    first_name = CharField()
    last_name = CharField()
    email = CharField(null=True, unique=True)
    phone = CharField(null=True, unique=True)
    birth_date = CharField(null=True)
    tier = CharField(null=True)
    qualifying_spend = IntegerField(default=0)
    created_at = CharField()
    updated_at = CharField()
    tier_locked = BooleanField(default=False)  # head office set the tier and locked it (migration 6)
    # A card this shop did not know, sold to while central was unreachable (migration 7): it
    # earns, spends nothing, and becomes the card's customer when central links it.
    provisional = BooleanField(default=False)


class Sale(BaseModel):
    id = CharField(primary_key=True)
    customer = ForeignKeyField(Customer, null=True, backref="sales", on_delete="RESTRICT")
    till = CharField(null=True)
    total = IntegerField()
    eligible_amount = IntegerField()
    points_earned = IntegerField()
    points_paid = IntegerField()
    reward_points = IntegerField()
    rules_version = IntegerField()
    tier = CharField(null=True)
    lines = TextField()
    payments = TextField()
    created_at = CharField(index=True)
    log_seq = IntegerField(null=True)  # its change-log entry (migration 4)
    currency = CharField(null=True)  # a sale in another currency: its code and rate text (migration 8)
    rate = CharField(null=True)
    vip_percent = IntegerField(default=0)  # a VIP card's discount, so a return prices as the sale (migration 9)


class SaleReturn(BaseModel):
    id = CharField(primary_key=True)
    sale = ForeignKeyField(Sale, backref="returns", on_delete="RESTRICT")
    lines = TextField()
    amount_refunded = IntegerField()
    points_reversed = IntegerField()
    created_at = CharField()
    eligible_reversed = IntegerField(default=0)  # what it takes off qualifying spend (migration 4)
    log_seq = IntegerField(null=True)  # its change-log entry (migration 4)


class PointMovement(BaseModel):
    """One ledger entry of ``shared.ledger``; ``ref`` names the lot an earn opens."""

    id = CharField(primary_key=True)
    customer = ForeignKeyField(Customer, backref="movements", on_delete="RESTRICT")
    kind = CharField()
    points = IntegerField()
    at = CharField()
    available_at = CharField(null=True)
    expires_at = CharField(null=True)
    lot = CharField(null=True)
    sale = CharField(null=True, index=True)
    log_seq = IntegerField(null=True)  # the change-log entry that made it (migration 2)


class CentralBalance(BaseModel):
    """What central last sent of a customer's points (migration 2).

    ``applied_seq`` is the last entry of this device central had applied for that customer;
    the edge adds its own movements from later entries on top. ``lots`` (JSON) and ``debt``
    are central's holdings (migration 4), folded at the edge's own clock so points mature and
    expire on time while central is silent; ``available``/``pending`` are what central
    displayed, used only when an older central sent no lots. ``qualifying_spend`` is what
    decided central's tier.
    """

    customer = ForeignKeyField(Customer, primary_key=True, on_delete="CASCADE")
    available = IntegerField()
    pending = IntegerField()
    balance_negative = BooleanField(default=False)
    applied_seq = IntegerField(default=0)
    updated_at = CharField()
    lots = TextField(null=True)
    debt = IntegerField(default=0)
    qualifying_spend = IntegerField(default=0)


class LogEntry(BaseModel):
    """The signed change log; ``line`` is the exact JSON the device signed, with ``sig``."""

    seq = IntegerField(primary_key=True)
    id = CharField(unique=True)
    kind = CharField()
    hash = CharField()
    line = TextField()


class IdempotencyRecord(BaseModel):
    """The first response to a POST with an ``Idempotency-Key``, replayed for repeats."""

    till = CharField()
    key = CharField()
    request_hash = CharField()
    status = IntegerField()
    response = TextField()
    created_at = CharField()

    class Meta:
        primary_key = CompositeKey("till", "key")


MODELS = [Setting, RulesVersion, Till, Customer, Sale, SaleReturn, PointMovement, LogEntry, IdempotencyRecord,
          CentralBalance]


_insert_sql: dict[tuple, str] = {}


def fast_insert(model: type[BaseModel], **values) -> None:
    """Insert one row with a cached statement.

    The sale commit is the hot path: building SQL through peewee's query objects costs more
    than the fsync itself, so the few inserts it makes reuse a statement per column set.
    """
    key = (model, tuple(values))
    sql = _insert_sql.get(key)
    if sql is None:
        fields = model._meta.fields
        columns = ", ".join(fields[name].column_name for name in values)
        marks = ", ".join("?" for _ in values)
        sql = _insert_sql[key] = f"INSERT INTO {model._meta.table_name} ({columns}) VALUES ({marks})"
    fields = model._meta.fields
    database.execute_sql(sql, tuple(fields[name].db_value(value) for name, value in values.items()))


_select_sql: dict[tuple, str] = {}


def fetch(model: type[BaseModel], field: str, value) -> BaseModel | None:
    """The row whose ``field`` equals ``value``, built without peewee's query builder.

    Used on the sale path for the same reason as ``fast_insert``.
    """
    key = (model, field)
    sql = _select_sql.get(key)
    fields = model._meta.sorted_fields
    if sql is None:
        columns = ", ".join(f.column_name for f in fields)
        column = model._meta.fields[field].column_name
        sql = _select_sql[key] = f"SELECT {columns} FROM {model._meta.table_name} WHERE {column} = ? LIMIT 1"
    row = database.execute_sql(sql, (value,)).fetchone()
    if row is None:
        return None
    instance = model(**{f.name: f.python_value(v) for f, v in zip(fields, row)})
    instance._dirty.clear()
    return instance


class PrintJob(BaseModel):
    """A receipt for the printer (``edge.peripherals.printqueue``): queued, then printed or failed.

    ``claimed_at`` is set just before the bytes go to the printer and cleared when the
    printer could not be reached; a queued job found claimed after a restart may already be
    on paper, so it is failed rather than printed again (at most once).
    """

    id = CharField(primary_key=True)
    sale = ForeignKeyField(Sale, backref="print_jobs", on_delete="RESTRICT")
    kind = CharField()  # receipt (first print: opens the drawer for cash) | reprint
    status = CharField()  # queued | printed | failed
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    created_at = CharField()
    printed_at = CharField(null=True)
    claimed_at = CharField(null=True)
    till = CharField(null=True)
    idempotency_key = CharField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False), (("till", "idempotency_key"), True))


MODELS.append(PrintJob)


class RejectedEntry(BaseModel):
    """An entry central acknowledged but would not apply, as central said (migration 4).

    Kept until a technician dismisses it, so a refused sale or customer is never silent.
    """

    seq = IntegerField(primary_key=True)
    kind = CharField()
    reason = CharField()
    message = TextField()
    rejected_at = CharField()
    dismissed_at = CharField(null=True)


MODELS.append(RejectedEntry)


class RetiredCard(BaseModel):
    """A card central retired (migration 6): ``blocked`` (reported lost: refused at the till)
    or ``merged`` (its customer was absorbed: it finds ``customer_id``, the one kept)."""

    card_number = CharField(primary_key=True)
    customer_id = CharField()
    status = CharField()
    at = CharField()


class MergedCustomer(BaseModel):
    """A customer central merged into another (migration 6): its id finds ``kept_id``."""

    id = CharField(primary_key=True)
    kept_id = CharField(index=True)
    at = CharField()


MODELS += [RetiredCard, MergedCustomer]


class GiftCard(BaseModel):
    """A gift card this shop sold or heard of from central; ``used_sale`` once spent (migration 10)."""

    code = CharField(primary_key=True)
    amount = IntegerField()
    expires_at = CharField()
    used_sale = CharField(null=True)
    paid = IntegerField(null=True)  # what the sale that used it took
    issued_at = CharField(null=True)  # None: heard of from central
    updated_at = CharField()


class Voucher(BaseModel):
    """A voucher issued by a sale here or heard of from central (migration 10).

    ``status`` is active, used or voided; ``stores`` a JSON list of store codes, or None for
    every shop.
    """

    code = CharField(primary_key=True)
    amount = IntegerField()
    expires_at = CharField()
    status = CharField(default="active")
    stores = TextField(null=True)
    sale = CharField(null=True, index=True)  # the sale that issued it
    customer = CharField(null=True)
    used_sale = CharField(null=True)
    updated_at = CharField()


MODELS += [GiftCard, Voucher]
class VipCard(BaseModel):
    """A VIP card head office issued (migration 9): its rate, through ``until`` (YYYY-MM-DD)."""

    code = CharField(primary_key=True)
    customer_id = CharField(index=True)
    discount_percent = IntegerField()
    until = CharField()
    issued_at = CharField()  # the act's time: an older act never overwrites a newer one


MODELS.append(VipCard)
