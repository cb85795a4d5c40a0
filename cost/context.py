"""One pricing pass over a recorded run: the lines, usage charges and unpriced items it collects,
and how it finds the resource an input refers to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offline.mocks import Resource, Run, mock_arn

from .catalog import USAGE_CATALOG
from .model import Charge, Line, Report, Unpriced, UsageCharge
from .prices import PriceTable


@dataclass
class Context:
    """One pricing pass over a recorded run."""

    run: Run
    table: PriceTable
    report: Report
    _by_ref: dict[str, Resource] = field(default_factory=dict)
    _usage: dict[str, UsageCharge] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for r in self.run.resources:
            # The mocks give every resource the ARN `mock_arn(type, name)` and the ID `<name>-id`;
            # inputs that reference another resource carry one of the two.
            self._by_ref[mock_arn(r.type, r.name)] = r
            self._by_ref[f"{r.name}-id"] = r

    @property
    def hours(self) -> int:
        return self.table.hours_per_month

    def ref(self, value: Any) -> Resource | None:
        return self._by_ref.get(value) if isinstance(value, str) else None

    def charge(self, line: Line, label: str, quantity: float, key: str) -> bool:
        """Add `quantity` of price `key` to `line`; without that price, report it unpriced."""
        price = self.table.get(key)
        if price is None:
            self.unpriced(line.resource, line.type, f"{label}: no confirmed price ({key})")
            line.incomplete = True
            return False
        line.charges.append(Charge(label, quantity, price.unit, key, price.usd))
        return True

    def unpriced(self, resource: str, type_token: str, reason: str) -> None:
        self.report.unpriced.append(Unpriced(resource, type_token, reason))

    def usage(self, kind: str, resource: str, note: str | None = None) -> None:
        name, key, unit = USAGE_CATALOG[kind]
        entry = self._usage.setdefault(kind, UsageCharge(name, key, unit, note=note))
        if resource not in entry.resources:
            entry.resources.append(resource)
        if note and not entry.note:
            entry.note = note

    def finish(self) -> None:
        self.report.usage = list(self._usage.values())
        # A resource none of whose fixed charges could be priced is reported only as unpriced.
        self.report.lines = [
            line for line in self.report.lines if line.charges or not line.incomplete
        ]
