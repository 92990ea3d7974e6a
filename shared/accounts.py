"""A customer's account as one shop sees it: central's last word plus the shop's own since.

Central sends its holdings of the customer (open lots and debt, ``shared.ledger.Holdings``)
with the last entry of this shop it had applied; the shop's own movements from later entries
are ``local``. The balance is the fold of both at the shop's clock. Spending without asking
central is bounded twice: by that balance, and by ``redeem.offline_cap`` less what this shop
has already let the customer spend that central has not seen, so each shop adds at most the
cap to the brand's exposure whatever happens elsewhere (docs/design.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .checkpoint import Checkpoint, checkpoint
from .ledger import REDEEM, Balance, Holdings, Movement, balance
from .money import Points
from .rules import RuleSet


@dataclass
class Account:
    """What a shop knows of one customer's points.

    Loaded from a checkpoint (``since``), ``local`` holds only the movements after it, and
    ``refold`` loads the whole account again for the rare fold the checkpoint cannot carry
    forward (``shared.checkpoint``); ``starts`` says when the lots reversed in ``local`` matured.
    """

    central: Holdings | None
    local: list[Movement] = field(default_factory=list)
    flagged_negative: bool = False  # central saw this customer below zero
    since: Checkpoint | None = None
    starts: dict[str, datetime] = field(default_factory=dict)
    refold: Callable[[], Account] | None = None

    def points(self, now: datetime) -> Balance:
        """Central's holdings and this shop's later movements, folded at ``now``."""
        if self.since is not None:
            found = self.since.advance(self.local, now, self.starts)
            return found.balance if found is not None else self._whole().points(now)
        if self.central is None:
            return balance(self.local, now)
        return balance(self.central.movements() + self.local, now)

    def movements(self) -> list[Movement]:
        """Central's holdings as movements, then this shop's later movements."""
        return (self.central.movements() if self.central is not None else []) + list(self.local)

    def spent_here(self) -> Points:
        """Points this shop let the customer spend that central has not seen yet."""
        earlier = self.since.spent if self.since is not None else 0
        return earlier - sum(m.points for m in self.local if m.kind == REDEEM)

    def checkpoint(self, now: datetime) -> Checkpoint | None:
        """The account folded at ``now``, to carry forward (``shared.checkpoint``); None when
        no checkpoint at ``now`` can stand for it (a movement dated after ``now``)."""
        if self.since is not None:
            found = self.since.advance(self.local, now, self.starts)
            return found if found is not None else self._whole().checkpoint(now)
        movements = self.local if self.central is None else self.central.movements() + self.local
        return checkpoint(movements, now, self.spent_here())

    def _whole(self) -> Account:
        if self.refold is None:
            raise RuntimeError("an account loaded from a checkpoint needs refold to fold its whole history")
        return self.refold()


def offline_spendable(account: Account, rules: RuleSet, now: datetime) -> Points:
    """What the shop lets the customer spend without asking central: the known balance, and
    never more than ``redeem.offline_cap`` beyond what central has seen."""
    return max(0, min(account.points(now).available, rules.offline_cap - account.spent_here()))
