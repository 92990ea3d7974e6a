"""The brand's records: rules versions, customers, sales and returns, ledger movements and
points holds, what each push leaves (entries verbatim, the exceptions queue, the pull feed,
each device's last seq per customer), head office's care acts and retired cards, gift cards
and vouchers.

The tables a push fills (``LogEntry``, ``Sale``, ``Movement``) carry no foreign keys: on
PostgreSQL each would cost a trigger per row, and the push only writes rows for the device,
customers and sales it has just read and locked. Balances are never stored: they are folds of
``Movement`` rows (``central.ledger``).
"""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import ID, BaseModel


class RulesVersion(BaseModel):
    """A rules version central published and signed (versions start at 1)."""

    version = IntegerField(primary_key=True)
    effective_from = CharField()
    document = TextField()
    signature = CharField(max_length=128)
    published_at = CharField()


class DeviceRules(BaseModel):
    """Rules a device installed itself (``rules.installed``), kept to recalculate its sales."""

    device_id = CharField(max_length=ID)
    version = IntegerField()
    document = TextField()
    entry_id = CharField(max_length=ID)

    class Meta:
        primary_key = CompositeKey("device_id", "version")


class Customer(BaseModel):
    id = CharField(primary_key=True, max_length=ID)
    card_number = CharField(null=True, unique=True, max_length=32)
    first_name = CharField(max_length=200)
    last_name = CharField(max_length=200)
    email = CharField(null=True, max_length=254)
    phone = CharField(null=True, max_length=40)
    birth_date = CharField(null=True, max_length=10)
    tier = CharField(null=True, max_length=60)
    balance_negative = BooleanField(default=False)
    # Brand-wide qualifying spend over the customer's life (sales less returns, migration 2);
    # central decides the tier from it, or from the last 365 days' sales (rules' tier period).
    qualifying_spend = BigIntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    # A cache of what the customer's movements add up to (central.ledger.Summary).
    ledger_total = BigIntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    ledger_last_at = CharField(null=True)
    ledger_last_available = CharField(null=True)
    ledger_expiring = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    device_id = CharField(max_length=ID)
    created_at = CharField()
    updated_at = CharField()
    # Head office's care (migration 4): a tier set by hand and locked against central's
    # decision; the customer this one was merged into; case- and accent-folded names for
    # prefix search ("first last" and "last first", central.search.name_keys).
    tier_locked = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])
    merged_into = CharField(null=True, max_length=ID)
    name_fl = CharField(null=True, max_length=402)
    name_lf = CharField(null=True, max_length=402)


class Sale(BaseModel):
    """A sale's figures; its lines and payments are in the entry (``entry_id``) in ``LogEntry``."""

    id = CharField(primary_key=True, max_length=ID)
    entry_id = CharField(max_length=ID)
    device_id = CharField(max_length=ID)
    customer_id = CharField(null=True, max_length=ID)
    till_id = CharField(null=True, max_length=ID)
    total = BigIntegerField()
    eligible_amount = BigIntegerField()
    points_earned = BigIntegerField()
    points_paid = BigIntegerField()
    reward_points = BigIntegerField()
    rules_version = IntegerField()
    tier = CharField(null=True, max_length=60)
    at = CharField()
    # What the sale adds to qualifying spend: the eligible amount central derives, less the
    # returns' share (migration 2).
    qualifying = BigIntegerField(default=0, constraints=[SQL("DEFAULT 0")])


class SaleReturn(BaseModel):
    id = CharField(primary_key=True, max_length=ID)
    entry_id = CharField(max_length=ID)
    sale_id = CharField(max_length=ID, index=True)
    device_id = CharField(max_length=ID)
    customer_id = CharField(null=True, max_length=ID)
    amount_refunded = BigIntegerField()
    points_reversed = BigIntegerField()
    at = CharField()


class Movement(BaseModel):
    """One brand ledger entry (``shared.ledger.Movement``); ``id`` is the lot an earn opens.

    The key leads with the customer: every read is "all movements of these customers", and
    one index serves both that and uniqueness.
    """

    customer_id = CharField(max_length=ID)
    id = CharField(max_length=ID + 16)
    kind = CharField(max_length=16)
    points = BigIntegerField()
    at = CharField()
    available_at = CharField(null=True)
    expires_at = CharField(null=True)
    lot = CharField(null=True, max_length=ID + 16)
    sale_id = CharField(null=True, max_length=ID)
    device_id = CharField(max_length=ID)
    entry_id = CharField(max_length=ID)

    class Meta:
        primary_key = CompositeKey("customer_id", "id")


class Hold(BaseModel):
    """Points reserved by an online authorization until its sale entry arrives or it lapses."""

    id = CharField(primary_key=True, max_length=ID)
    customer = ForeignKeyField(Customer, column_name="customer_id", on_delete="RESTRICT", index=True)
    sale_id = CharField(max_length=ID, unique=True)
    device_id = CharField(max_length=ID)
    points = BigIntegerField()
    created_at = CharField()
    expires_at = CharField()
    settled_at = CharField(null=True)
    settled_entry = CharField(null=True, max_length=ID)


class LogEntry(BaseModel):
    """A device's change-log entry exactly as signed (``line``: canonical JSON with ``sig``)."""

    device_id = CharField(max_length=ID)
    seq = BigIntegerField()
    id = CharField(max_length=ID)
    kind = CharField(max_length=64)
    hash = CharField(max_length=64)
    at = CharField()
    status = CharField(max_length=16)
    line = TextField()
    received_at = CharField()

    class Meta:
        primary_key = CompositeKey("device_id", "seq")


class Conflict(BaseModel):
    """An entry of the exceptions queue: overdraft, fork, recalculation mismatch, …"""

    id = AutoField()
    kind = CharField(max_length=40)
    status = CharField(max_length=16, default="open")
    device_id = CharField(null=True, max_length=ID)
    store_code = CharField(null=True, max_length=16)
    customer_id = CharField(null=True, max_length=ID)
    seq = BigIntegerField(null=True)
    entry_id = CharField(null=True, max_length=ID)
    details = TextField()
    created_at = CharField()
    resolved_at = CharField(null=True)
    resolution = TextField(null=True)


class FeedItem(BaseModel):
    """One item of a store's pull feed; ``store_code`` NULL means every store."""

    cursor = BigAutoField()
    store_code = CharField(null=True, max_length=16)
    kind = CharField(max_length=40)
    body = TextField()
    created_at = CharField()


class CustomerDeviceSeq(BaseModel):
    """Per customer and device, the last seq of that device that touched the customer."""

    customer_id = CharField(max_length=ID)
    device_id = CharField(max_length=ID)
    seq = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("customer_id", "device_id")


# --- made by later migrations (4: care; gift cards and vouchers), not by the initial schema ---


class CareAct(BaseModel):
    """A head-office act on a customer (``sync.acts``) as central signed it (migration 4).

    ``body`` is the act's JSON body; ``actor`` who made it (a user's e-mail or an API token's
    name) is kept here and in the audit log, not in what edges receive.
    """

    id = CharField(primary_key=True, max_length=ID)
    customer_id = CharField(max_length=ID)
    kind = CharField(max_length=16)
    at = CharField()
    actor = CharField(max_length=254)
    body = TextField()
    signature = CharField(max_length=128)

    class Meta:
        table_name = "careact"
        indexes = ((("customer_id", "at"), False),)


class RetiredCard(BaseModel):
    """A card number no customer may hold again: ``blocked`` (reported lost) or ``merged``
    (its customer was absorbed; the card finds ``customer_id``, the one kept)."""

    card_number = CharField(primary_key=True, max_length=32)
    customer_id = CharField(max_length=ID, index=True)
    status = CharField(max_length=16)
    at = CharField()
    act_id = CharField(max_length=ID)

    class Meta:
        table_name = "retiredcard"


class GiftCard(BaseModel):
    """A gift card a shop sold (``gift_card.issued``); ``used_sale`` once a sale spent it."""

    code = CharField(primary_key=True, max_length=32)
    amount = BigIntegerField()
    expires_at = CharField()
    device_id = CharField(max_length=ID)
    store_code = CharField(max_length=16)
    used_sale = CharField(max_length=ID, null=True)
    used_device = CharField(max_length=ID, null=True)
    paid = BigIntegerField(null=True)
    created_at = CharField()

    class Meta:
        table_name = "giftcard"


class Voucher(BaseModel):
    """A voucher a sale issued (``vouchers_issued`` of ``sale.completed``): active, used or voided."""

    code = CharField(primary_key=True, max_length=32)
    amount = BigIntegerField()
    expires_at = CharField()
    status = CharField(max_length=16)
    stores = TextField(null=True)  # JSON list of store codes; None: every shop
    sale_id = CharField(max_length=ID, null=True, index=True)  # None: a welcome voucher
    customer_id = CharField(max_length=ID, null=True)
    device_id = CharField(max_length=ID)
    used_sale = CharField(max_length=ID, null=True)
    created_at = CharField()

    class Meta:
        table_name = "voucher"
