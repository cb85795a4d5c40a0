"""The cost report (`python -m cost`): every shipped stack priced from the recorded mock run.

Expected figures are computed here from the price table and from the stack files' settings (task
size, desired counts, AZ count, NAT strategy), never copied from a report: a test fails when the
report's arithmetic or its reading of the resource graph is wrong, and keeps passing when a price
in the table is updated.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
import pulumi_aws as aws
import pytest
import yaml
from botocore.stub import Stubber
from phoenix_aws.network import NAT_ROOT_VOLUME_GB, NatStrategy, Network

from cost.__main__ import main
from cost.live import LivePriceError, on_demand_hourly_usd, price_keys, with_live_prices
from cost.prices import TABLE_PATH, PriceTable, PriceTableError, default_table, load_table
from cost.report import build_report, render_diff_markdown, render_markdown, render_text, to_dict
from cost.rules import DEFAULT_TRAFFIC_GB, price_run
from offline import mocks

SHIPPED = ["dev", "local", "prod"]
HOURS = 730


@pytest.fixture(scope="session")
def runs() -> dict[str, mocks.Run]:
    """One mock run per shipped stack for the whole session (pricing never changes a run)."""
    return {s: mocks.run_main(mocks.stack_config(s), stack=s) for s in SHIPPED}


@pytest.fixture(scope="session")
def reports(runs):
    return {s: build_report(s, run) for s, run in runs.items()}


@pytest.fixture(scope="session")
def table() -> PriceTable:
    return default_table()


def settings(stack: str, section: str) -> dict[str, Any]:
    return dict(mocks.stack_config(stack).get(f"phoenix-aws:{section}") or {})


def price(table: PriceTable, key: str) -> float:
    value = table.usd(key)
    assert value is not None, f"{key} is not in the price table"
    return value


def charge(report, resource: str, key: str):
    matches = [c for c in report.line(resource).charges if c.price_key == key]
    assert len(matches) == 1, (resource, key, report.line(resource).charges)
    return matches[0]


def price_program(program, table: PriceTable | None = None, **kwargs):
    return price_run(
        mocks.run(program), table or default_table(), stack="test", deploy_region=None, **kwargs
    )


def table_with(extra: dict[str, float]) -> PriceTable:
    """The shipped table plus test-only prices (to check arithmetic the table cannot yet)."""
    base = default_table()
    template = next(iter(base.prices.values()))
    added = {k: template.model_copy(update={"usd": v}) for k, v in extra.items()}
    return base.model_copy(update={"prices": {**base.prices, **added}})


# --- every shipped stack ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_shipped_stack_prints_a_report_in_text_markdown_and_json(stack, reports, capsys):
    data = to_dict(reports[stack])
    text, markdown = render_text(data), render_markdown(data)
    print(text)  # the report is part of the test output (pytest -s shows it)
    assert f"Cost of stack `{stack}`" in text and f"{data['total_monthly_usd']:,.2f}" in text
    assert f"**Fixed total: ${data['total_monthly_usd']:,.2f} per month**" in markdown
    assert json.loads(json.dumps(data))["stack"] == stack
    assert data["lines"] and data["usage_based"] and data["free"]


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_total_is_the_sum_of_every_priced_charge(stack, reports):
    report = reports[stack]
    expected = sum(c.quantity * c.unit_usd for line in report.lines for c in line.charges)
    assert report.aws_equivalent == pytest.approx(expected)
    billed = 0.0 if report.emulator else expected  # the local stack: an emulator, nothing billed
    assert report.total == pytest.approx(billed)
    assert to_dict(report)["total_monthly_usd"] == round(billed, 2)
    assert to_dict(report)["aws_equivalent_monthly_usd"] == round(expected, 2)


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_registered_aws_resource_is_priced_free_usage_based_or_unpriced(stack, runs, reports):
    report = reports[stack]
    accounted = (
        {line.resource for line in report.lines}
        | {u.resource for u in report.unpriced}
        | {f.resource for f in report.free}
        | {f.resource for f in report.usage_only}
    )
    custom = {r.name for r in runs[stack].resources if r.custom}
    assert custom <= accounted


# --- arithmetic from the price table ----------------------------------------------------------


def test_the_rds_line_is_the_class_price_times_730_plus_storage_and_the_managed_secret(
    reports, table
):
    db = settings("dev", "database")
    assert db["multi_az"] is False
    report = reports["dev"]
    cls = db["instance_class"]
    instance = charge(report, "database-instance", f"rds.postgres.{cls}")
    assert instance.monthly == pytest.approx(price(table, f"rds.postgres.{cls}") * HOURS * 1)
    storage = charge(report, "database-instance", "rds.storage.gp3")
    assert storage.quantity == 20  # the database default allocated_storage_gb
    assert storage.monthly == pytest.approx(20 * price(table, "rds.storage.gp3"))
    secret = charge(report, "database-instance", "secretsmanager.secret")
    assert secret.monthly == price(table, "secretsmanager.secret")


def test_multi_az_doubles_the_instance_hours_and_the_storage(table):
    """AWS bills a Multi-AZ instance's primary and standby, compute and storage
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html)."""

    def program():
        for name, multi_az in (("single", False), ("multi", True)):
            aws.rds.Instance(
                name,
                engine="postgres",
                instance_class="db.t4g.medium",
                allocated_storage=50,
                storage_type="gp3",
                multi_az=multi_az,
            )

    report = price_program(program)
    hourly = price(table, "rds.postgres.db.t4g.medium")
    single = charge(report, "single", "rds.postgres.db.t4g.medium")
    multi = charge(report, "multi", "rds.postgres.db.t4g.medium")
    assert single.monthly == pytest.approx(hourly * HOURS)
    assert multi.monthly == pytest.approx(hourly * HOURS * 2)
    storage = charge(report, "multi", "rds.storage.gp3")
    assert storage.monthly == pytest.approx(50 * 2 * price(table, "rds.storage.gp3"))


def test_a_class_without_a_confirmed_price_is_unpriced_and_its_storage_still_priced(reports, table):
    db = settings("prod", "database")
    report = reports["prod"]
    assert table.get(f"rds.postgres.{db['instance_class']}") is None
    reasons = [u.reason for u in report.unpriced if u.resource == "database-instance"]
    assert reasons == [
        f"{db['instance_class']} instance-hours x 2: no confirmed price "
        f"(rds.postgres.{db['instance_class']})"
    ]
    storage = charge(report, "database-instance", "rds.storage.gp3")
    assert storage.monthly == pytest.approx(
        db["allocated_storage_gb"] * 2 * price(table, "rds.storage.gp3")
    )


REDIS = {
    "node_type": "cache.t4g.micro",
    "replicas": 1,
    "automatic_failover": True,
    "protect": False,
}


@pytest.fixture(scope="session")
def dev_with_redis() -> mocks.Run:
    """dev with the Redis PubSub fallback switched on (dev as shipped uses distributed Erlang)."""
    config = mocks.with_overrides(
        mocks.stack_config("dev"), pubsub={"adapter": "redis", "redis": REDIS}
    )
    return mocks.run_main(config, stack="dev")


def test_redis_is_node_type_price_times_nodes_times_730(dev_with_redis):
    nodes = 1 + REDIS["replicas"]
    key = f"elasticache.redis.{REDIS['node_type']}"
    report = price_run(dev_with_redis, table_with({key: 0.25}), stack="dev", deploy_region=None)
    assert charge(report, "pubsub-redis", key).monthly == pytest.approx(0.25 * nodes * HOURS)


def test_redis_without_a_confirmed_node_price_is_unpriced_not_guessed(dev_with_redis, table):
    assert table.get(f"elasticache.redis.{REDIS['node_type']}") is None
    report = build_report("dev", dev_with_redis)
    assert "pubsub-redis" not in {line.resource for line in report.lines}
    assert [u.resource for u in report.unpriced].count("pubsub-redis") == 1


def test_fargate_is_task_size_times_desired_tasks_times_the_architecture_rate(reports, table):
    app, blue = settings("prod", "app"), settings("prod", "release")["blue"]
    arch = app["cpu_architecture"].lower()
    vcpu, gb, tasks = app["cpu"] / 1024, app["memory"] / 1024, blue["desired_count"]
    report = reports["prod"]
    cpu_charge = charge(report, "slot-blue-service", f"fargate.linux.{arch}.vcpu")
    mem_charge = charge(report, "slot-blue-service", f"fargate.linux.{arch}.gb")
    assert cpu_charge.monthly == pytest.approx(
        tasks * vcpu * HOURS * price(table, f"fargate.linux.{arch}.vcpu")
    )
    assert mem_charge.monthly == pytest.approx(
        tasks * gb * HOURS * price(table, f"fargate.linux.{arch}.gb")
    )


def test_a_slot_scaled_to_zero_tasks_costs_nothing(reports):
    assert settings("prod", "release")["green"]["desired_count"] == 0
    assert reports["prod"].line("slot-green-service").monthly == 0


def _spot_program(architecture: str):
    def program():
        task = aws.ecs.TaskDefinition(
            "task",
            family="t",
            cpu="512",
            memory="1024",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": architecture},
            container_definitions="[]",
        )
        aws.ecs.Service(
            "service",
            task_definition=task.arn,
            desired_count=3,
            capacity_provider_strategies=[
                {"capacity_provider": "FARGATE", "base": 1, "weight": 0},
                {"capacity_provider": "FARGATE_SPOT", "weight": 1},
            ],
        )

    return program


def test_spot_tasks_use_the_spot_rate_and_the_base_stays_on_demand(table):
    report = price_program(_spot_program("X86_64"))
    on_demand = charge(report, "service", "fargate.linux.x86_64.vcpu")
    spot = charge(report, "service", "fargate_spot.linux.x86_64.vcpu")
    assert on_demand.quantity == 1 * 0.5 * HOURS  # the base task
    assert spot.monthly == pytest.approx(
        2 * 0.5 * HOURS * price(table, "fargate_spot.linux.x86_64.vcpu")
    )
    spot_gb = charge(report, "service", "fargate_spot.linux.x86_64.gb")
    assert spot_gb.monthly == pytest.approx(
        2 * 1.0 * HOURS * price(table, "fargate_spot.linux.x86_64.gb")
    )
    assert "Fargate Spot price variance" in {u.name for u in report.usage}


def test_spot_tasks_without_a_confirmed_spot_rate_are_unpriced(table):
    assert table.get("fargate_spot.linux.arm64.vcpu") is None
    report = price_program(_spot_program("ARM64"))
    reasons = [u.reason for u in report.unpriced if u.resource == "service"]
    assert any("fargate_spot.linux.arm64.vcpu" in r for r in reasons)
    assert charge(report, "service", "fargate.linux.arm64.vcpu").quantity == 0.5 * HOURS


def test_x86_tasks_are_flagged_with_what_arm64_would_save(table):
    report = price_program(_spot_program("X86_64"))
    [finding] = [f for f in report.findings if f.resource == "service"]
    x86 = 0.5 * HOURS * price(table, "fargate.linux.x86_64.vcpu") + HOURS * price(
        table, "fargate.linux.x86_64.gb"
    )
    arm = 0.5 * HOURS * price(table, "fargate.linux.arm64.vcpu") + HOURS * price(
        table, "fargate.linux.arm64.gb"
    )
    assert finding.monthly_waste == pytest.approx(x86 - arm)


def test_alarms_are_priced_per_standard_alarm_metric(runs, reports, table):
    alarms = runs["dev"].of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    priced = [line for line in reports["dev"].lines if line.type == alarms[0].type]
    assert len(priced) == len(alarms)
    assert sum(line.monthly for line in priced) == pytest.approx(
        len(alarms) * price(table, "cloudwatch.alarm.standard")
    )


def test_each_secret_costs_the_secret_price(runs, reports, table):
    secrets = runs["prod"].of_type("aws:secretsmanager/secret:Secret")
    for s in secrets:
        assert reports["prod"].line(s.name).monthly == price(table, "secretsmanager.secret")


# --- what the graph implies --------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED)
def test_public_ipv4_addresses_are_what_the_network_settings_imply(stack, reports, table):
    """An internet-facing ALB holds a public IPv4 address in each AZ; each NAT gateway has an
    Elastic IP; the NAT instance has an auto-assigned public address; all are billed hourly."""
    network = settings(stack, "network")
    azs = network.get("az_count", 3)
    nat = network.get("nat", "per_az")
    nat_addresses = {"per_az": azs, "single": 1, "instance": 1, "none": 0}[nat]
    report = reports[stack]
    assert report.public_ipv4().get("edge-alb") == azs
    assert sum(report.public_ipv4().values()) == azs + nat_addresses
    ipv4_monthly = sum(
        c.monthly for line in report.lines for c in line.charges if c.price_key == "vpc.public_ipv4"
    )
    assert ipv4_monthly == pytest.approx(
        (azs + nat_addresses) * HOURS * price(table, "vpc.public_ipv4")
    )


def test_the_nat_instance_is_its_instance_type_its_public_address_and_its_root_volume(
    reports, table
):
    line = reports["dev"].line("network-nat-asg")
    instance_type = "t4g.nano"  # the network default nat_instance_type; dev does not set it
    assert "nat_instance_type" not in settings("dev", "network")
    assert charge(
        reports["dev"], "network-nat-asg", f"ec2.{instance_type}"
    ).monthly == pytest.approx(HOURS * price(table, f"ec2.{instance_type}"))
    volume_gb = NAT_ROOT_VOLUME_GB  # the launch template states it
    assert line.monthly == pytest.approx(
        HOURS * (price(table, f"ec2.{instance_type}") + price(table, "vpc.public_ipv4"))
        + volume_gb * price(table, "ebs.gp3")
    )


def test_free_resources_are_listed_as_free_not_as_unpriced(runs, reports):
    free_types = {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/routeTable:RouteTable",
        "aws:iam/role:Role",
    }
    report = reports["dev"]
    expected = {r.name for r in runs["dev"].resources if r.type in free_types}
    assert expected and expected <= {f.resource for f in report.free}
    assert not expected & {u.resource for u in report.unpriced}


def test_an_unknown_resource_type_lands_in_unpriced():
    report = price_program(lambda: aws.sqs.Queue("jobs"))
    assert [(u.resource, u.reason) for u in report.unpriced] == [
        ("jobs", "no pricing rule for this resource type")
    ]
    assert report.total == 0


# --- defaults that waste money -------------------------------------------------------------------


def _break_even(table: PriceTable, azs: int) -> float:
    fixed = HOURS * azs * price(table, "privatelink.interface_endpoint.hour")
    saved = price(table, "vpc.nat_gateway.gb") - price(table, "privatelink.interface_endpoint.gb")
    return fixed / saved


def test_interface_endpoints_cheaper_than_the_nat_processing_they_save_are_flagged(reports, table):
    network = settings("prod", "network")
    report = reports["prod"]
    flagged = {f.resource: f for f in report.findings}
    assert report.default_traffic_gb == DEFAULT_TRAFFIC_GB
    for endpoint in network["interface_endpoints"]:
        finding = flagged[f"network-endpoint-{endpoint.replace('.', '-')}"]
        assert finding.break_even_gb == pytest.approx(_break_even(table, network["az_count"]))
        assert finding.break_even_gb > DEFAULT_TRAFFIC_GB


def test_an_endpoint_with_traffic_above_the_break_even_is_not_flagged(runs, table):
    azs = settings("prod", "network")["az_count"]
    above = _break_even(table, azs) + 1
    report = price_run(
        runs["prod"], table, stack="prod", deploy_region=None, traffic_overrides={"ecr.dkr": above}
    )
    flagged = {f.resource for f in report.findings}
    assert "network-endpoint-ecr-dkr" not in flagged
    assert "network-endpoint-ecr-api" in flagged


def test_interface_endpoints_behind_a_nat_instance_never_pay_for_themselves():
    def program():
        Network(
            "net",
            {
                "cidr_block": "10.0.0.0/16",
                "az_count": 2,
                "nat": NatStrategy.INSTANCE,
                "interface_endpoints": ["logs"],
            },
        )

    report = price_program(program)
    [finding] = [f for f in report.findings if f.resource == "net-endpoint-logs"]
    assert finding.break_even_gb is None
    assert finding.monthly_waste == pytest.approx(report.line("net-endpoint-logs").monthly)
    assert "never" in finding.message


def test_without_nat_interface_endpoints_are_required_not_flagged():
    def program():
        Network(
            "net",
            {
                "cidr_block": "10.0.0.0/16",
                "az_count": 2,
                "nat": NatStrategy.NONE,
                "interface_endpoints": ["logs"],
            },
        )

    report = price_program(program)
    assert not report.findings
    assert report.endpoints[0].verdict.startswith("required")


# --- comparing two reports -----------------------------------------------------------------------


def test_the_markdown_diff_shows_per_resource_and_total_changes(reports):
    dev, prod = to_dict(reports["dev"]), to_dict(reports["prod"])
    markdown = render_markdown(prod, dev)
    change = prod["total_monthly_usd"] - dev["total_monthly_usd"]
    assert f"**Change from the base branch: +${change:,.2f} per month**" in markdown
    alb_before = next(x for x in dev["lines"] if x["resource"] == "edge-alb")["monthly_usd"]
    alb_after = next(x for x in prod["lines"] if x["resource"] == "edge-alb")["monthly_usd"]
    assert f"| {alb_before:,.2f} | {alb_after:,.2f} | +${alb_after - alb_before:,.2f} |" in markdown
    nat_asg = next(x for x in dev["lines"] if x["resource"] == "network-nat-asg")["monthly_usd"]
    assert (
        f"| `network-nat-asg` | EC2 auto-scaling group: 1 x t4g.nano | {nat_asg:,.2f} | — | −${nat_asg:,.2f} |"
        in markdown
    )
    assert "| `network-nat-0` |" in markdown
    assert "Newly unpriced:" in markdown  # prod's database class


def test_an_unchanged_stack_shows_no_fixed_charge_changes(reports):
    dev = to_dict(reports["dev"])
    assert "No fixed charge changes." in render_diff_markdown(dev, dev)


# --- the price table -------------------------------------------------------------------------------


def test_every_price_names_the_page_it_was_read_from_and_a_date_not_in_the_future(table):
    assert table.region == "us-east-1" and table.hours_per_month == HOURS
    for key, entry in table.prices.items():
        assert entry.source.scheme == "https", key
        assert entry.taken <= datetime.date.today(), key


def test_a_price_without_a_source_is_refused_with_its_key(tmp_path):
    raw = yaml.safe_load(TABLE_PATH.read_text())
    del raw["prices"]["kms.key"]["source"]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PriceTableError, match=r"prices\.kms\.key\.source: Field required"):
        load_table(path)


# --- the command ------------------------------------------------------------------------------------


def test_the_command_prints_a_stack_report_as_json(runs, monkeypatch, capsys):
    monkeypatch.setattr("cost.__main__.run_stack", runs.__getitem__)  # the session's run
    assert main(["local", "--format", "json", "--traffic-gb", "5", "logs=40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stack"] == "local"
    assert data["traffic_gb"] == {"default": 5.0, "logs": 40.0}


def test_the_command_names_the_stacks_when_the_stack_is_unknown(capsys):
    assert main(["staging"]) == 2
    err = capsys.readouterr().err
    assert "unknown stack 'staging'" in err and "dev, local, prod" in err


@pytest.mark.parametrize("value", ["lots", "-3", "ecr.dkr=many", "=5", "nan"])
def test_the_command_refuses_a_traffic_value_that_is_not_a_number_of_gb(value, capsys):
    assert main(["dev", "--traffic-gb", value]) == 2
    (line,) = capsys.readouterr().err.splitlines()  # one line, no usage block
    assert line.startswith("python -m cost: argument --traffic-gb")


def test_the_command_refuses_a_comparison_file_that_is_not_a_report(tmp_path, capsys):
    bad = tmp_path / "base.json"
    bad.write_text('{"stack": "dev"}')
    assert main(["local", "--compare-to", str(bad)]) == 2
    assert "not a cost report of this version" in capsys.readouterr().err


def test_dev_as_shipped_costs_at_most_60_dollars_a_month_with_nothing_unpriced(reports):
    """Issue 14's budget for the dev stack's fixed charges, at the table's list prices."""
    report = reports["dev"]
    assert report.unpriced == []
    assert report.total <= 60


def test_the_command_shows_the_programs_example_value_warnings(runs, monkeypatch, capsys):
    """A user without the Pulumi CLI runs `cost` first: the example values the program would warn
    about at every preview are shown here too, as the CLI shows them."""
    from stacks.settings import load_settings, placeholder_warnings, raw_config_from_pulumi

    config = mocks.stack_config("prod")
    settings = load_settings(raw_config_from_pulumi(config), region=config["aws:region"])
    expected = [f"warning: {w}" for w in placeholder_warnings(settings)]
    monkeypatch.setattr("cost.__main__.run_stack", runs.__getitem__)
    assert main(["prod", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert expected and captured.err.splitlines() == expected
    assert json.loads(captured.out)["stack"] == "prod"  # the report itself stays clean JSON


def test_the_local_stack_costs_nothing_and_says_why(reports):
    local = reports["local"]
    endpoints = mocks.stack_config("local")["aws:endpoints"]
    assert local.emulator == next(iter(endpoints[0].values()))  # the stack file's moto address
    assert local.total == 0 and local.aws_equivalent > 0
    text = render_text(to_dict(local))
    assert "$0 a month: every AWS service of this stack is sent to an emulator" in text
    assert reports["dev"].emulator is None and reports["dev"].total == reports["dev"].aws_equivalent


def test_the_readme_stacks_table_agrees_with_the_command(reports):
    """The README's stacks table shows what `python -m cost <stack>` says, stack by stack."""
    readme = (mocks.ROOT / "README.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[3].strip()
        for line in readme.splitlines()
        if line.startswith("| `") and line.split("|")[1].strip(" `") in SHIPPED
    }
    for stack, report in reports.items():
        shown = f"${report.total:,.2f}" if report.total else "$0"
        assert rows[stack].startswith(shown), (stack, rows[stack], shown)
        assert ("+" in rows[stack]) == bool(report.unpriced), (stack, rows[stack])


# --- --live-prices: the AWS Price List Query API -------------------------------------------
# `--live-prices`: instance prices from the AWS Price List Query API (boto3 `pricing`,
# GetProducts), tested with botocore's Stubber, which checks every request against the API's own
# model (service code, TERM_MATCH filters, format version) and every response against its shape.
#
# The PriceList items below are shaped like the API's `aws_v1` documents (product attributes,
# OnDemand and Reserved terms, price dimensions with a decimal USD string and the unit "Hrs");
# their numbers are test values, not prices anyone should quote.

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


@pytest.fixture
def prod_run(runs):
    return runs["prod"]  # the session's run of the prod stack


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
