"""`--live-prices`: instance prices from the AWS Price List Query API (boto3 `pricing`,
GetProducts), tested with botocore's Stubber, which checks every request against the API's own
model (service code, TERM_MATCH filters, format version) and every response against its shape.

The PriceList items below are shaped like the API's `aws_v1` documents (product attributes,
OnDemand and Reserved terms, price dimensions with a decimal USD string and the unit "Hrs");
their numbers are test values, not prices anyone should quote.
"""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import Stubber

from cost.__main__ import main
from cost.live import LivePriceError, on_demand_hourly_usd, price_keys, with_live_prices
from cost.prices import default_table
from cost.report import build_report, to_dict
from offline import mocks

TODAY = datetime.date(2026, 12, 6)


def price_item(instance_type: str, region: str, usd: str, **attributes: str) -> str:
    sku = "Q9ZC8XT7HR4WJ2PE"
    return json.dumps(
        {
            "product": {
                "productFamily": "Database Instance",
                "attributes": {
                    "servicecode": "AmazonRDS",
                    "instanceType": instance_type,
                    "regionCode": region,
                    "databaseEngine": "PostgreSQL",
                    "deploymentOption": "Single-AZ",
                    "usagetype": f"EU-InstanceUsage:{instance_type}",
                    "operation": "CreateDBInstance:0014",
                    **attributes,
                },
                "sku": sku,
            },
            "serviceCode": "AmazonRDS",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per RDS {instance_type} instance hour",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                },
                "Reserved": {
                    f"{sku}.HU7G6KETJZ": {
                        "priceDimensions": {
                            f"{sku}.HU7G6KETJZ.2TG2D8R56U": {
                                "unit": "Quantity",
                                "pricePerUnit": {"USD": "1000"},
                                "description": "Upfront Fee",
                                "rateCode": f"{sku}.HU7G6KETJZ.2TG2D8R56U",
                                "appliesTo": [],
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "HU7G6KETJZ",
                        "termAttributes": {"LeaseContractLength": "1yr"},
                    }
                },
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def rds_request(instance_class: str, region: str, token: str | None = None) -> dict:
    request = {
        "ServiceCode": "AmazonRDS",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "instanceType", "Value": instance_class},
            {"Type": "TERM_MATCH", "Field": "databaseEngine", "Value": "PostgreSQL"},
            {"Type": "TERM_MATCH", "Field": "deploymentOption", "Value": "Single-AZ"},
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        ],
        "FormatVersion": "aws_v1",
    }
    if token:
        request["NextToken"] = token
    return request


@pytest.fixture
def pricing():
    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(scope="module")
def prod_run():
    return mocks.run_main(mocks.stack_config("prod"), stack="prod")


def test_the_stack_asks_for_its_database_class(prod_run):
    assert price_keys(prod_run.resources) == ["rds.postgres.db.m7g.large"]


def test_prod_is_fully_priced_with_the_live_price_of_its_database_class(pricing, prod_run):
    client, stubber = pricing
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page-2"},
        rds_request("db.m7g.large", "eu-west-1"),
    )
    stubber.add_response(
        "get_products",
        {
            "FormatVersion": "aws_v1",
            "PriceList": [price_item("db.m7g.large", "eu-west-1", "0.1850000000")],
        },
        rds_request("db.m7g.large", "eu-west-1", token="page-2"),
    )
    table, missing = with_live_prices(
        default_table(), prod_run.resources, "eu-west-1", client, TODAY
    )
    assert missing == []
    report = build_report("prod", prod_run, table=table)
    assert report.unpriced == []
    database = report.line("database-instance")
    (hours,) = [c for c in database.charges if c.price_key == "rds.postgres.db.m7g.large"]
    assert hours.quantity == 730 * 2 and hours.unit_usd == 0.185  # Multi-AZ: primary + standby
    assert "eu-west-1 (AWS Price List API)" in hours.unit
    assert to_dict(report, table)["total_monthly_usd"] > 371.68 + 2 * 730 * 0.185 - 0.01


def test_a_class_aws_does_not_list_stays_not_priced(pricing, prod_run):
    client, stubber = pricing
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": []},
        rds_request("db.m7g.large", "ap-east-2"),
    )
    table, missing = with_live_prices(
        default_table(), prod_run.resources, "ap-east-2", client, TODAY
    )
    assert missing == ["rds.postgres.db.m7g.large"] and table.get(missing[0]) is None


def test_two_different_on_demand_prices_are_refused_not_picked(pricing, prod_run):
    client, stubber = pricing
    items = [
        price_item("db.m7g.large", "eu-west-1", "0.1850000000"),
        price_item("db.m7g.large", "eu-west-1", "0.2000000000", storage="EBS Only"),
    ]
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items},
        rds_request("db.m7g.large", "eu-west-1"),
    )
    with pytest.raises(LivePriceError, match="refusing to pick one"):
        with_live_prices(default_table(), prod_run.resources, "eu-west-1", client, TODAY)


def test_an_item_without_one_hourly_on_demand_price_is_refused():
    document = json.loads(price_item("db.m7g.large", "eu-west-1", "0.185"))
    document["terms"]["OnDemand"] = {}
    with pytest.raises(LivePriceError, match="expected one on-demand hourly price, found 0"):
        on_demand_hourly_usd(json.dumps(document))


def test_the_command_says_when_aws_refuses_in_one_line(pricing, prod_run, monkeypatch, capsys):
    client, stubber = pricing
    stubber.add_client_error(
        "get_products",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: pricing:GetProducts",
        http_status_code=400,
    )
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    monkeypatch.setattr("cost.__main__.run_stack", lambda stack: prod_run)
    assert main(["prod", "--live-prices", "--format", "json"]) == 2
    lines = capsys.readouterr().err.splitlines()
    (line,) = [text for text in lines if not text.startswith("warning: ")]
    assert line.startswith(
        "python -m cost: --live-prices: the AWS Price List API could not be asked"
    )
    assert "pricing:GetProducts" in line
