"""A push's effects of a customer's registration: a new customer, contact details renewed, an
offline shop's provisional record linked to the card's customer, a card that is another's
queued as a conflict, and the welcome vouchers the registration issued.

``RegistrationEffects`` is part of ``central.effects.Batch``: its method reads and adds to the
batch's state (customers, cards and their owners, merges, links).
"""

from __future__ import annotations

from shared.times import format_time
from sync import bodies

from . import exceptions as queue
from .pushrows import CustomerRow


class RegistrationEffects:
    """``customer.registered`` applied in memory (a part of ``central.effects.Batch``)."""

    def _registered(self, entry: dict, body: dict) -> str | None:
        facts = bodies.Registration.read(body)
        cid, card = facts.customer_id, facts.card_number
        if cid in self.merged:
            return None  # registered again after head office merged it away: the merge stands
        owner = self._live(self.card_owner.get(card)) if card is not None else None
        if facts.provisional and owner is not None and owner != cid and owner in self.customers:
            # An offline shop's record of a card it did not know: the card's customer, not a new one.
            self.merged[cid] = owner
            self.links.append((cid, owner, card))
            self.touched[owner] = entry["seq"]
            return None
        known = self.customers.get(cid)
        if card is not None and self.card_owner.get(card, cid) != cid:
            self._conflict(queue.CARD_CONFLICT, entry, customer_id=cid, card_number=card,
                           held_by=self.card_owner[card])
            card = None
        if known is None:
            self.customers[cid] = CustomerRow(cid, card, facts.first_name, facts.last_name, facts.email, facts.phone,
                                              facts.birth_date, facts.tier,
                                              registered_at=format_time(bodies.entry_time(entry["at"], self.now)))
            self.new_customers.append(cid)
        else:
            # Registered again (an edge re-enrolled, or a repeat from another device): the
            # newest contact details win; a card is only added, never swapped; the tier is
            # central's to decide, never an entry's.
            known.first_name, known.last_name = facts.first_name, facts.last_name
            known.email, known.phone, known.birth_date = facts.email, facts.phone, facts.birth_date
            if known.card_number is None and card is not None:
                known.card_number = card
            self.changed.add(cid)
        if card is not None:
            self.card_owner[card] = cid
        if facts.vouchers_issued or facts.rules_version:
            self.vouchers.welcome(entry, facts, self._ruleset(facts.rules_version),
                                  bodies.entry_time(entry["at"], self.now))
        self.touched[cid] = entry["seq"]
        return None

