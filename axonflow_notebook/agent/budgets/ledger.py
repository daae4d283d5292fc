"""The budgets in force and an in-memory view of usage, so a pre-check checks budgets in RAM.

Usage is summed per period (the current daily, weekly, monthly, quarterly and yearly
period) and per scope value (``attribution.py``): ``(scope index, value)`` for each value a
call has, and ``(scope index, "*")`` for every call that has one (an organization's "*":
every call), which is what a budget without ``scope_id`` counts. The sums are seeded from
the usage table at start and moved by every recorded audit, so the pre-check does dict
reads and no SQL. When a period ends its sums start again from zero.

Thread-safety: writers (audits, budget changes) hold one lock; the pre-check reads without
it. The tuple of enforced budgets is replaced, never changed, and a sum is one dict entry
that CPython reads and writes atomically, so a reader sees a whole old or new value.

The bound on concurrent calls: a call is refused only once the recorded use has reached the
limit, and use is recorded when a call's audit arrives. Calls that passed their pre-check
before that moment still run and are still charged, so a budget ends at most the cost of
the calls in flight when it was reached above its limit (AxonFlow charges the same way).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace
from typing import Iterable, Optional

from .. import timestamps
from .attribution import Attribution
from .periods import CurrentPeriods
from .spec import PERIODS, SCOPES, Budget
from .standing import Standing, rank
from .usage import UsageRecord
from .usage_db import UsageDB

POOLED = "*"
PENDING_TTL_SECONDS = 300 + 60  # the pre-check context lives 300 s (routes/gateway.py)
MAX_PENDING = 200_000
_SCOPE_INDEX = {scope: i for i, scope in enumerate(SCOPES)}


class UnknownBudget(KeyError):
    pass


class BudgetConflict(ValueError):
    pass


def _add(sums: dict, who: Attribution, amount: float) -> None:
    sums[(0, POOLED)] = sums.get((0, POOLED), 0.0) + amount
    for index, value in enumerate(who):
        if value:
            key = (index, value)
            sums[key] = sums.get(key, 0.0) + amount
            if index:
                pooled = (index, POOLED)
                sums[pooled] = sums.get(pooled, 0.0) + amount


def file_owned(budget: Budget) -> str:
    """Why the API may not change or delete a budget of the policy file."""
    return f"budget {budget.id!r} is declared in the policy file ({budget.source}); change it there"


class _Rule:
    """A budget compiled for the pre-check: where its sum lives and which calls it covers."""

    __slots__ = ("budget", "index", "scope_id", "key", "period")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.index = _SCOPE_INDEX[budget.scope]
        self.scope_id = budget.scope_id
        self.key = (self.index, budget.scope_id if budget.scope_id is not None else POOLED)
        self.period = budget.period

    def covers(self, who: Attribution) -> bool:
        value = who[self.index]
        if self.scope_id is not None:
            return value == self.scope_id
        return bool(value) or self.index == 0


class BudgetLedger:
    """Budgets (from the API and the policy file) and their use; see the module docstring."""

    def __init__(self, db: UsageDB, file_budgets: Iterable[Budget] = ()) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._periods = CurrentPeriods(time.time())
        self._sums: dict[str, dict] = {}
        self._api: dict[str, Budget] = {}
        self._file: dict[str, Budget] = {}
        self._rules: tuple[_Rule, ...] = ()
        self._pending: dict[str, Attribution] = {}
        self._pending_order: deque = deque()
        for doc in db.budgets():
            budget = Budget.from_json(doc)
            self._api[budget.id] = budget
        self._seed()
        self._alerted = set(db.alerted(self._periods.earliest_start))
        self.replace_file_budgets(file_budgets)

    @classmethod
    def open(cls, db_path: str, file_budgets: Iterable[Budget] = ()) -> "BudgetLedger":
        return cls(UsageDB(db_path), file_budgets)

    def close(self) -> None:
        self._db.close()

    @property
    def db(self) -> UsageDB:
        return self._db

    # -- the in-memory view --------------------------------------------------------------

    def _seed(self) -> None:
        sums = {period: {} for period in PERIODS}
        bounds = self._periods.bounds
        for row in self._db.day_totals(self._periods.earliest_start):
            day_start = f"{row['day']}T00:00:00.000000Z"
            who = Attribution(row["organization"], row["team"], row["agent"], row["workflow"], row["user"])
            for period in PERIODS:
                if day_start >= bounds[period][0]:
                    _add(sums[period], who, row["cost"])
        self._sums = sums

    def _roll(self, epoch: float) -> None:
        """Start the sums of every period that has ended. Lock held by the caller."""
        old = self._periods.bounds
        periods = CurrentPeriods(epoch)
        sums = dict(self._sums)
        for period in PERIODS:
            if periods.bounds[period] != old[period]:
                sums[period] = {}
        self._sums, self._periods = sums, periods

    def _current(self) -> CurrentPeriods:
        now = time.time()
        if not self._periods.current(now):
            with self._lock:
                if not self._periods.current(now):
                    self._roll(now)
        return self._periods

    def _standing(self, rule: _Rule, periods: CurrentPeriods) -> Standing:
        start, end = periods.bounds[rule.period]
        return Standing(rule.budget, self._sums[rule.period].get(rule.key, 0.0), start, end)

    # -- the pre-check (hot path) -------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True when some enabled budget is in force."""
        return bool(self._rules)

    def check(self, who: Attribution) -> Optional[Standing]:
        """The budget this call reports, or None when no enabled budget covers it.

        Blocking budgets come first, then exceeded ones, then the most used.
        """
        rules = self._rules
        if not rules:
            return None
        periods = self._current()
        sums = self._sums
        best, best_rank, best_used = None, None, 0.0
        for rule in rules:
            value = who[rule.index]
            if rule.scope_id is not None:
                if value != rule.scope_id:
                    continue
            elif not value and rule.index:
                continue
            used = sums[rule.period].get(rule.key, 0.0)
            this = rank(rule.budget, used)
            if best_rank is None or this > best_rank:
                best, best_rank, best_used = rule, this, used
        if best is None:
            return None
        start, end = periods.bounds[best.period]
        return Standing(best.budget, best_used, start, end)

    def remember(self, context_id: str, who: Attribution) -> None:
        """Keep a pre-check's attribution until its audit arrives (calls whose context named
        a scope; any other call's attribution is read again from the audit itself)."""
        self._pending[context_id] = who
        now = time.monotonic()
        order = self._pending_order
        order.append((now + PENDING_TTL_SECONDS, context_id))
        try:
            while order[0][0] < now or len(order) > MAX_PENDING:
                self._pending.pop(order.popleft()[1], None)
        except IndexError:  # emptied by another thread (big pre-checks run on workers)
            pass

    def attribution_of(self, context_id: str) -> Optional[Attribution]:
        return self._pending.get(context_id)

    # -- usage -------------------------------------------------------------------------

    def record(self, record: UsageRecord) -> UsageRecord:
        """Store a call's usage (durably first), move the sums, raise the alerts it crosses."""
        stored, previous = self._db.save_usage(record)
        with self._lock:
            periods = self._current()
            for period in PERIODS:
                start, end = periods.bounds[period]
                if start <= stored.created_at < end:
                    delta = stored.cost_usd - (previous.cost_usd if previous is not None else 0.0)
                    _add(self._sums[period], stored.attribution, delta)
            for budget in self.budgets():
                rule = _Rule(budget)
                if budget.enabled and rule.covers(stored.attribution):
                    self._raise_alerts(self._standing(rule, periods))
        return stored

    def _raise_alerts(self, standing: Standing) -> None:
        """Record each threshold reached for the first time this period. Lock held."""
        budget = standing.budget
        for threshold in budget.alert_thresholds:
            key = (budget.id, threshold, standing.period_start)
            if standing.percentage >= threshold and key not in self._alerted:
                self._db.insert_alert(standing.alert(threshold, timestamps.now()))
                self._alerted.add(key)

    def standing(self, budget_id: str) -> Standing:
        """Where a budget stands now (enabled or not: a disabled budget's use still counts)."""
        return self._standing(_Rule(self.get(budget_id)), self._current())

    def covering(self, who: Attribution) -> list[Standing]:
        """Every enabled budget covering ``who``, reported one first (``check``'s order)."""
        periods = self._current()
        found = [self._standing(rule, periods) for rule in self._rules if rule.covers(who)]
        return sorted(found, key=lambda s: s.rank, reverse=True)

    # -- the budgets ---------------------------------------------------------------------

    def budgets(self) -> list[Budget]:
        """Policy-file budgets in file order, then API budgets in creation order."""
        return [*self._file.values(), *self._api.values()]

    def get(self, budget_id: str) -> Budget:
        budget = self._file.get(budget_id) or self._api.get(budget_id)
        if budget is None:
            raise UnknownBudget(budget_id)
        return budget

    def _rebuild(self) -> None:
        self._rules = tuple(_Rule(b) for b in self.budgets() if b.enabled)

    def create(self, budget: Budget) -> Budget:
        with self._lock:
            if budget.id in self._file:
                raise BudgetConflict(f"budget {budget.id!r} is declared in the policy file ({self._file[budget.id].source})")
            if budget.id in self._api or not self._db.insert_budget(budget.to_json()):
                raise BudgetConflict(f"budget {budget.id!r} already exists")
            self._api[budget.id] = budget
            self._after_change(budget)
            return budget

    def replace(self, budget: Budget) -> Budget:
        """Put an API budget's new version in force (the caller validated it)."""
        with self._lock:
            if budget.id not in self._api:
                raise UnknownBudget(budget.id)
            self._db.replace_budget(budget.to_json())
            self._api[budget.id] = budget
            self._after_change(budget)
            return budget

    def delete(self, budget_id: str) -> None:
        with self._lock:
            if budget_id in self._file:
                raise BudgetConflict(file_owned(self._file[budget_id]))
            if budget_id not in self._api:
                raise UnknownBudget(budget_id)
            self._db.delete_budget(budget_id)
            del self._api[budget_id]
            self._alerted = {key for key in self._alerted if key[0] != budget_id}
            self._rebuild()

    def _after_change(self, budget: Budget) -> None:
        self._rebuild()
        if budget.enabled:
            self._raise_alerts(self._standing(_Rule(budget), self._current()))

    def file_conflicts(self, budgets: Iterable[Budget]) -> list[str]:
        """Ids of ``budgets`` already taken by budgets created through the API."""
        return [b.id for b in budgets if b.id in self._api]

    def replace_file_budgets(self, budgets: Iterable[Budget]) -> None:
        """Put a (validated) policy file's budgets in force, replacing the previous file's."""
        with self._lock:
            previous, self._file = self._file, {}
            for budget in budgets:
                kept = previous.get(budget.id)
                if kept is not None and replace(kept, created_at="", updated_at="") == replace(
                    budget, created_at="", updated_at=""
                ):
                    budget = kept  # unchanged: keeps its dates
                elif kept is not None:
                    budget = replace(budget, created_at=kept.created_at)
                self._file[budget.id] = budget
            self._rebuild()
            for budget in self._file.values():
                if budget.enabled:
                    self._raise_alerts(self._standing(_Rule(budget), self._current()))

    def alerts(self, budget_id: str, limit: int) -> list[dict]:
        self.get(budget_id)
        return [
            {
                "id": str(row["seq"]),
                "budget_id": row["budget_id"],
                "threshold": row["threshold"],
                "percentage_reached": row["percentage_reached"],
                "amount_usd": row["amount_usd"],
                "alert_type": row["alert_type"],
                "message": row["message"],
                "created_at": row["created_at"],
                "acknowledged": bool(row["acknowledged"]),
                "period_start": row["period_start"],
            }
            for row in self._db.alerts(budget_id, limit)
        ]
