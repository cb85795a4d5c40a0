"""The price table (`cost/prices.yaml`): us-east-1 list prices, each with its source and date."""

from __future__ import annotations

import datetime
import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

TABLE_PATH = Path(__file__).with_name("prices.yaml")


class Price(BaseModel):
    """One list price: what one `usd` buys (`unit`), the page it was read from, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd: float = Field(ge=0)
    unit: str = Field(min_length=1)
    source: HttpUrl
    taken: datetime.date
    aws_page: HttpUrl | None = None
    """AWS's own pricing page to check the number against, when `source` is another page."""
    note: str | None = None


class PriceTable(BaseModel):
    """The whole table. Only prices confirmed from a page are in it; absence means unpriced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    currency: str
    hours_per_month: int = Field(gt=0)
    prices: dict[str, Price]

    def get(self, key: str) -> Price | None:
        return self.prices.get(key)

    def usd(self, key: str) -> float | None:
        price = self.prices.get(key)
        return None if price is None else price.usd


class PriceTableError(ValueError):
    """The price table file is unreadable or has an entry without a price, source or date."""


def load_table(path: Path = TABLE_PATH) -> PriceTable:
    """Read and validate a price table file (default: the one shipped in this package)."""
    try:
        raw = yaml.safe_load(path.read_text())
        return PriceTable.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise PriceTableError(f"cannot read the price table {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PriceTableError(f"the price table {path} is invalid: {problems}") from exc


@functools.cache
def default_table() -> PriceTable:
    """The shipped table, read once per process."""
    return load_table()
