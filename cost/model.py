"""What a cost report holds: priced lines, free and unpriced resources, usage charges, flags."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Charge:
    """One fixed component of a resource's monthly bill: `quantity` units at `unit_usd` each."""

    label: str
    quantity: float
    unit: str
    price_key: str
    unit_usd: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_usd


@dataclass
class Line:
    """A resource with a fixed monthly charge (possibly $0, e.g. a slot scaled to zero tasks)."""

    resource: str
    type: str
    what: str
    charges: list[Charge] = field(default_factory=list)
    incomplete: bool = False
    """Some fixed component of it has no confirmed price (it is listed as unpriced too)."""

    @property
    def monthly(self) -> float:
        return sum(c.monthly for c in self.charges)


@dataclass(frozen=True)
class Unpriced:
    """A fixed charge that exists but has no confirmed price in the table (never guessed)."""

    resource: str
    type: str
    reason: str


@dataclass(frozen=True)
class Free:
    """A resource AWS does not bill (or that is not an AWS resource at all)."""

    resource: str
    type: str
    reason: str


@dataclass
class UsageCharge:
    """A charge that depends on traffic or usage, left out of the fixed total."""

    name: str
    price_key: str | None
    unit: str
    resources: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Finding:
    """A default or choice that wastes money, with the numbers that show it."""

    resource: str
    message: str
    monthly_waste: float | None = None
    break_even_gb: float | None = None


@dataclass(frozen=True)
class EndpointEconomics:
    """An interface endpoint's fixed cost against the NAT data processing it saves."""

    resource: str
    service: str
    azs: int
    monthly: float
    traffic_gb: float
    saved_per_gb: float | None
    """NAT processing minus endpoint processing per GB; None when nothing is saved per GB."""
    break_even_gb: float | None
    """GB/month through the endpoint above which it pays off; None when it never does."""
    verdict: str


@dataclass
class Report:
    """The priced picture of one stack."""

    stack: str
    deploy_region: str | None
    price_region: str
    hours_per_month: int
    default_traffic_gb: float
    traffic_overrides: dict[str, float]
    lines: list[Line] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    free: list[Free] = field(default_factory=list)
    usage_only: list[Free] = field(default_factory=list)
    """Resources with no fixed charge whose bill depends on usage (logs, buckets, DNS, ...)."""
    usage: list[UsageCharge] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    endpoints: list[EndpointEconomics] = field(default_factory=list)
    live_prices: dict[str, str] = field(default_factory=dict)
    """Price keys read from the AWS Price List API (`--live-prices`), each with its Region."""
    emulator: str | None = None
    """The emulator on this machine every AWS service of the stack is sent to (the `local`
    stack): nothing is billed, and the lines are what the same resources would cost in AWS."""

    @property
    def aws_equivalent(self) -> float:
        """The fixed monthly charges of these resources in AWS."""
        return sum(line.monthly for line in self.lines)

    @property
    def total(self) -> float:
        """What is billed a month: $0 on an emulator."""
        return 0.0 if self.emulator else self.aws_equivalent

    def line(self, resource: str) -> Line:
        return next(line for line in self.lines if line.resource == resource)

    def public_ipv4(self) -> dict[str, int]:
        """Public IPv4 addresses per resource, as priced (address-hours / hours per month)."""
        out: dict[str, int] = {}
        for line in self.lines:
            for charge in line.charges:
                if charge.price_key == "vpc.public_ipv4":
                    out[line.resource] = out.get(line.resource, 0) + round(
                        charge.quantity / self.hours_per_month
                    )
        return out
