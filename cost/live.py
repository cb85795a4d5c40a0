"""`python -m cost <stack> --live-prices`: the prices of instance classes read from AWS itself.

The shipped table (cost/prices.yaml) holds the prices someone confirmed from a page; an instance
class nobody confirmed, or a Region other than the table's, is listed as not priced. With AWS
credentials, `--live-prices` asks the AWS Price List Query API (boto3 `pricing`, GetProducts) for
the on-demand price of every RDS instance class, ElastiCache node type and EC2 instance type the
stack uses, in the Region it deploys to, and prices those from the answer.

AWS's rules followed here:
- GetProducts takes a service code and TERM_MATCH filters on product attributes; each item of
  `PriceList` is a JSON document with `product.attributes` and `terms.OnDemand.<offer>.
  priceDimensions.<rate>.pricePerUnit.USD` (a decimal string) and its `unit` ("Hrs").
  https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html
  https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-list-query-api.html
- The API has endpoints in us-east-1, eu-central-1 and ap-south-1 only; prices of every Region
  are asked from there with the `regionCode` attribute.
  https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-price-list-query-api.html
- RDS instance prices are per engine and deployment option (the report doubles a Single-AZ
  price for Multi-AZ: a primary and a standby); EC2 Linux on shared tenancy, no pre-installed
  software, capacity in use; ElastiCache per engine.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from .prices import Price, PriceTable

PRICING_API_REGION = "us-east-1"
PRICING_API_PAGE = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"

# price key → (service code, unit text, filters from the key's instance class)
QUERIES: list[tuple[re.Pattern[str], str, str, Callable[[str], dict[str, str]]]] = [
    (
        re.compile(r"rds\.postgres\.(db\.[a-z0-9-]+\.[a-z0-9-]+)"),
        "AmazonRDS",
        "DB instance-hour, Single-AZ",
        lambda cls: {
            "instanceType": cls,
            "databaseEngine": "PostgreSQL",
            "deploymentOption": "Single-AZ",
        },
    ),
    (
        re.compile(r"elasticache\.redis\.(cache\.[a-z0-9-]+\.[a-z0-9-]+)"),
        "AmazonElastiCache",
        "node-hour",
        lambda node: {"instanceType": node, "cacheEngine": "Redis"},
    ),
    (
        re.compile(r"ec2\.([a-z0-9-]+\.[a-z0-9-]+)"),
        "AmazonEC2",
        "instance-hour, Linux, shared tenancy",
        lambda itype: {
            "instanceType": itype,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
        },
    ),
]


EC2_TYPES = ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance")


class LivePriceError(RuntimeError):
    """The Price List API could not be asked (credentials, permissions, network) or answered
    something this module cannot read."""


def price_keys(resources: Iterable[Any]) -> list[str]:
    """The instance-class price keys the pricing rules will look up for these resources."""
    keys = []
    for r in resources:
        if r.type == "aws:rds/instance:Instance" and r.get("engine") == "postgres":
            keys.append(f"rds.postgres.{r.get('instanceClass')}")
        elif r.type.startswith("aws:elasticache/") and r.get("nodeType"):
            keys.append(f"elasticache.{r.get('engine') or 'redis'}.{r.get('nodeType')}")
        elif r.type in EC2_TYPES and r.get("instanceType"):
            keys.append(f"ec2.{r.get('instanceType')}")
    return list(dict.fromkeys(keys))


def on_demand_hourly_usd(item: str | dict[str, Any]) -> float:
    """The one on-demand hourly USD price of a GetProducts `PriceList` item."""
    document = json.loads(item) if isinstance(item, str) else item
    dimensions = [
        dimension
        for offer in (document.get("terms", {}).get("OnDemand") or {}).values()
        for dimension in (offer.get("priceDimensions") or {}).values()
    ]
    hourly = [d for d in dimensions if d.get("unit") in ("Hrs", "Hours", "hours")]
    if len(hourly) != 1:
        raise LivePriceError(
            f"expected one on-demand hourly price, found {len(hourly)} "
            f"(sku {document.get('product', {}).get('sku', '?')})"
        )
    return float(hourly[0]["pricePerUnit"]["USD"])


def ask(client: Any, service: str, filters: dict[str, str]) -> list[Any]:
    """Every PriceList item GetProducts returns for these TERM_MATCH filters (all pages)."""
    request = {
        "ServiceCode": service,
        "Filters": [
            {"Type": "TERM_MATCH", "Field": field, "Value": value}
            for field, value in filters.items()
        ],
        "FormatVersion": "aws_v1",
    }
    items: list[Any] = []
    while True:
        answer = client.get_products(**request)
        items += answer.get("PriceList", [])
        token = answer.get("NextToken")
        if not token:
            return items
        request["NextToken"] = token


def live_price(client: Any, key: str, region: str, today: datetime.date) -> Price | None:
    """The live price for a price key in `region`, or None when AWS lists no such product."""
    for pattern, service, unit, filters in QUERIES:
        match = pattern.fullmatch(key)
        if not match:
            continue
        items = ask(client, service, {**filters(match.group(1)), "regionCode": region})
        prices = sorted({on_demand_hourly_usd(item) for item in items})
        if not prices:
            return None
        if len(prices) > 1:
            raise LivePriceError(
                f"{key} in {region}: the Price List API gives {len(prices)} on-demand prices "
                f"({', '.join(f'${p:g}' for p in prices)}); refusing to pick one"
            )
        return Price(
            usd=prices[0],
            unit=f"{unit}, {region} (AWS Price List API)",
            source=PRICING_API_PAGE,  # type: ignore[arg-type]
            taken=today,
            note=f"read live for {region} with GetProducts ({service})",
        )
    return None


def with_live_prices(
    table: PriceTable,
    resources: Iterable[Any],
    region: str,
    client: Any = None,
    today: datetime.date | None = None,
) -> tuple[PriceTable, list[str]]:
    """The table with the stack's instance-class prices replaced by AWS's for `region`, and the
    keys AWS lists no product for (left out: they stay not priced, never guessed)."""
    if client is None:
        import boto3

        client = boto3.client("pricing", region_name=PRICING_API_REGION)
    today = today or datetime.date.today()
    prices = dict(table.prices)
    missing = []
    for key in price_keys(resources):
        try:
            price = live_price(client, key, region, today)
        except LivePriceError:
            raise
        except Exception as exc:  # botocore: credentials, permissions, network
            raise LivePriceError(f"the AWS Price List API could not be asked: {exc}") from None
        if price is None:
            prices.pop(key, None)
            missing.append(key)
        else:
            prices[key] = price
    return table.model_copy(update={"prices": prices}), missing
