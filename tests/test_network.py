"""Network: subnet plan, routing per NAT strategy, endpoints, flow logs, default SG."""

from __future__ import annotations

import base64
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import harness
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phoenix_aws.network import (
    MAX_AZS,
    RESERVED_AZ_SLOTS,
    Network,
    check_availability_zones,
    check_nat_instance_type,
    choose_availability_zones,
    plan_subnets,
    zone_id_prefix,
)
from phoenix_aws.validation import ComponentArgError

SHELLCHECK = str(Path(sys.executable).parent / "shellcheck")


def build(**args):
    return harness.run(lambda: Network("net", args))


def subnets(run, tier):
    return sorted(
        (r for r in run.of_type("aws:ec2/subnet:Subnet") if r.name.startswith(f"net-{tier}-")),
        key=lambda r: r.name,
    )


def route_to(run, table_name):
    routes = [
        r for r in run.of_type("aws:ec2/route:Route") if r["routeTableId"] == f"{table_name}-id"
    ]
    return {r["destinationCidrBlock"]: r for r in routes}


# --- the pure CIDR helper -------------------------------------------------------------------

vpc_cidrs = st.builds(
    lambda addr, prefix: str(
        ipaddress.ip_network(f"{ipaddress.IPv4Address(addr)}/{prefix}", strict=False)
    ),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=16, max_value=22),
)


@given(vpc_cidrs, st.integers(min_value=1, max_value=MAX_AZS))
def test_subnet_plan_is_inside_the_vpc_and_disjoint(cidr, az_count):
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(p.cidr) for p in plan_subnets(cidr, az_count)]
    assert len(nets) == 3 * az_count
    assert all(n.subnet_of(vpc) for n in nets)
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert not a.overlaps(b)


@given(vpc_cidrs, st.integers(min_value=1, max_value=MAX_AZS - 1))
def test_adding_an_az_keeps_every_existing_subnet(cidr, az_count):
    before = set(plan_subnets(cidr, az_count))
    after = set(plan_subnets(cidr, az_count + 1))
    assert before < after
    assert len(after - before) == 3


@given(vpc_cidrs)
def test_every_subnet_is_at_least_a_slash_28(cidr):
    assert all(ipaddress.ip_network(p.cidr).prefixlen <= 28 for p in plan_subnets(cidr, MAX_AZS))


def test_private_tier_gets_the_largest_subnets():
    plan = {(p.tier, p.az_index): p.cidr for p in plan_subnets("10.0.0.0/16", 3)}
    assert plan[("private", 0)] == "10.0.0.0/20"
    assert plan[("public", 0)] == "10.0.128.0/21"
    assert plan[("isolated", 2)] == "10.0.208.0/21"
    assert RESERVED_AZ_SLOTS >= MAX_AZS


@pytest.mark.parametrize(
    ("cidr", "count", "message"),
    [
        ("10.0.0.0/8", 2, "between /16 and /22"),
        ("10.0.0.0/24", 2, "between /16 and /22"),
        ("10.0.0.1/16", 2, "host bits set"),
        ("10.0.0.0/16", 7, "between 1 and 6"),
        ("fd00::/56", 2, "IPv4"),
    ],
)
def test_subnet_plan_rejects_bad_input(cidr, count, message):
    with pytest.raises(ValueError, match=message):
        plan_subnets(cidr, count)


# --- the component ----------------------------------------------------------------------------


def test_three_tiers_per_az():
    run = build(az_count=3)
    assert [len(subnets(run, t)) for t in ("public", "private", "isolated")] == [3, 3, 3]
    azs = [s["availabilityZone"] for s in subnets(run, "private")]
    assert azs == harness.AZ_NAMES[:3]


def test_subnet_cidrs_are_inside_the_vpc_and_disjoint():
    run = build(cidr_block="10.20.0.0/16", az_count=3)
    vpc = ipaddress.ip_network(run.named("net-vpc")["cidrBlock"])
    nets = [ipaddress.ip_network(s["cidrBlock"]) for s in run.of_type("aws:ec2/subnet:Subnet")]
    assert all(n.subnet_of(vpc) for n in nets)
    assert len({str(n) for n in nets}) == 9
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_no_subnet_hands_out_public_ips():
    """Neither the ALB nor the NAT instance needs a subnet that auto-assigns public IPs (each
    asks for its own), and anything else launched there must not get one by accident
    (Security Hub EC2.15: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-15)."""
    for nat in ("per_az", "instance", "none"):
        run = build(az_count=2, nat=nat)
        assert {s["mapPublicIpOnLaunch"] for s in run.of_type("aws:ec2/subnet:Subnet")} == {False}


def test_adding_an_az_leaves_existing_subnets_untouched():
    two, three = build(az_count=2), build(az_count=3)
    for s in two.of_type("aws:ec2/subnet:Subnet"):
        assert three.named(s.name).inputs == s.inputs


def test_public_route_table_goes_to_the_internet_gateway():
    run = build(az_count=2)
    default = route_to(run, "net-public-rt")["0.0.0.0/0"]
    assert default["gatewayId"] == "net-igw-id"


def test_per_az_nat_routes_each_private_table_to_its_own_az_gateway():
    run = build(az_count=3, nat="per_az")
    gateways = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == 3
    for i in range(3):
        assert run.named(f"net-nat-{i}")["subnetId"] == f"net-public-{i}-id"
        assert (
            route_to(run, f"net-private-{i}-rt")["0.0.0.0/0"]["natGatewayId"] == f"net-nat-{i}-id"
        )


def test_single_nat_serves_every_private_table():
    run = build(az_count=3, nat="single")
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1
    for i in range(3):
        assert route_to(run, f"net-private-{i}-rt")["0.0.0.0/0"]["natGatewayId"] == "net-nat-0-id"


def test_no_nat_means_no_default_route_from_private_subnets():
    run = build(az_count=2, nat="none")
    assert not run.of_type("aws:ec2/natGateway:NatGateway")
    for i in range(2):
        assert "0.0.0.0/0" not in route_to(run, f"net-private-{i}-rt")


def test_isolated_route_tables_have_no_default_route():
    for nat in ("none", "single", "per_az", "instance"):
        run = build(az_count=2, nat=nat)
        for i in range(2):
            assert route_to(run, f"net-isolated-{i}-rt") == {}, nat


def test_each_subnet_is_associated_with_its_tier_table():
    run = build(az_count=2)
    for tier in ("private", "isolated"):
        for i in range(2):
            assoc = run.named(f"net-{tier}-{i}-rta")
            assert (assoc["subnetId"], assoc["routeTableId"]) == (
                f"net-{tier}-{i}-id",
                f"net-{tier}-{i}-rt-id",
            )
    for i in range(2):
        assert run.named(f"net-public-{i}-rta")["routeTableId"] == "net-public-rt-id"


def test_nat_instance_is_a_self_healing_group_of_one_behind_a_stable_eni():
    run = build(az_count=2, nat="instance")
    eni = run.named("net-nat-eni")
    assert eni["sourceDestCheck"] is False
    assert eni["subnetId"] == "net-public-0-id"
    asg = run.named("net-nat-asg")
    assert (asg["minSize"], asg["maxSize"], asg["desiredCapacity"]) == (1, 1, 1)
    template = run.named("net-nat-lt")
    assert template["instanceType"] == "t4g.nano"
    assert template["imageId"].startswith("resolve:ssm:/aws/service/ami-amazon-linux-latest/")
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert "keyName" not in template.inputs  # no SSH: Session Manager only
    policies = [
        p["policyArn"] for p in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in policies
    for i in range(2):
        assert (
            route_to(run, f"net-private-{i}-rt")["0.0.0.0/0"]["networkInterfaceId"]
            == "net-nat-eni-id"
        )


def nat_script(run):
    return base64.b64decode(run.named("net-nat-lt")["userData"]).decode()


def test_nat_instance_user_data_passes_shellcheck(tmp_path):
    """The script is checked by a real shell linter (shellcheck), not by string matching."""
    script = tmp_path / "nat.sh"
    script.write_text(nat_script(build(az_count=2, nat="instance")))
    result = subprocess.run(
        [SHELLCHECK, "--severity=warning", str(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_nat_instance_forwards_through_two_interfaces_without_reverse_path_drops():
    """With the stable ENI as a second interface, VPC traffic arrives on it and replies leave by
    the primary one; strict reverse-path filtering would drop it. The kernel applies the larger
    of `conf.all.rp_filter` and the interface's own value, so both must be 0
    (https://docs.kernel.org/networking/ip-sysctl.html, rp_filter)."""
    script = nat_script(build(az_count=2, nat="instance"))
    assert "attach-network-interface" in script and "net-nat-eni-id" in script
    assert "--no-source-dest-check" in script
    for setting in ("all", "default", "$PRIMARY", "$INSIDE"):
        assert f"net.ipv4.conf.{setting}.rp_filter = 0" in script
    assert "net.ipv4.ip_forward = 1" in script
    assert 'POSTROUTING -o "$PRIMARY" -j MASQUERADE' in script
    assert 'FORWARD -i "$INSIDE" -o "$PRIMARY" -j ACCEPT' in script


def test_nat_instance_may_only_touch_its_own_interface_and_instance():
    run = build(az_count=2, nat="instance")
    policy = json.loads(run.named("net-nat-eni-policy")["policy"])
    resources = [st["Resource"] for st in policy["Statement"]]
    assert "*" not in resources
    eni, instances = policy["Statement"]
    assert eni["Resource"] == harness.mock_arn(
        "aws:ec2/networkInterface:NetworkInterface", "net-nat-eni"
    )
    assert instances["Resource"] == f"arn:aws:ec2:{harness.REGION}:{harness.ACCOUNT_ID}:instance/*"
    ((key, value),) = instances["Condition"]["StringEquals"].items()
    assert key == "aws:ResourceTag/phoenix-aws:nat"
    launched = run.named("net-nat-lt")["tagSpecifications"][0]["tags"]
    assert launched["phoenix-aws:nat"] == value


def test_one_stacks_nat_role_cannot_touch_another_stacks_nat_instance():
    """Two stacks (or two projects) in one account: IAM compares `aws:ResourceTag/phoenix-aws:nat`
    exactly (StringEquals), so each NAT role matches its own instance's tag and not the other's.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourcetag"""
    scopes = {}
    for project, stack in (("shop", "dev"), ("shop", "staging"), ("crm", "dev")):
        run = harness.run(
            lambda: Network("net", {"az_count": 2, "nat": "instance"}), stack=stack, project=project
        )
        policy = json.loads(run.named("net-nat-eni-policy")["policy"])
        condition = policy["Statement"][1]["Condition"]["StringEquals"]
        tag = run.named("net-nat-lt")["tagSpecifications"][0]["tags"]["phoenix-aws:nat"]
        assert condition == {"aws:ResourceTag/phoenix-aws:nat": tag}
        scopes[(project, stack)] = tag
    assert len(set(scopes.values())) == 3, scopes


def test_service_roles_of_the_network_trust_their_service_for_this_account_only():
    """Confused deputy: the flow logs role only for VPC flow logs of this account and Region
    (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html), the NAT
    instance's role only for EC2 acting for this account."""
    run = build(az_count=2, nat="instance")
    flow = json.loads(run.named("net-flow-logs-role")["assumeRolePolicy"])["Statement"][0]
    assert flow["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert flow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": harness.ACCOUNT_ID},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:ec2:{harness.REGION}:{harness.ACCOUNT_ID}:vpc-flow-log/*"
        },
    }
    nat = json.loads(run.named("net-nat-role")["assumeRolePolicy"])["Statement"][0]
    assert nat["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert nat["Condition"] == {"StringEquals": {"aws:SourceAccount": harness.ACCOUNT_ID}}


@pytest.mark.parametrize(
    "good",
    [
        "t4g.nano",
        "t4g.micro",
        "c7gn.large",
        "m6gd.xlarge",
        "a1.medium",
        "x2gd.large",
        "im4gn.large",
    ],
)
def test_nat_instance_types_must_be_graviton(good):
    """https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html: a `g`
    after the generation digit is the AWS Graviton (arm64) processor; the NAT instance boots
    the arm64 Amazon Linux image."""
    assert check_nat_instance_type(good) == good


@pytest.mark.parametrize(
    "bad", ["t3.nano", "t3a.micro", "m6i.large", "g5.xlarge", "c5n.large", "t4g"]
)
def test_x86_nat_instance_types_are_refused(bad):
    with pytest.raises(ValueError, match="arm64"):
        check_nat_instance_type(bad)
    with pytest.raises(ComponentArgError, match="nat_instance_type"):
        build(az_count=2, nat="instance", nat_instance_type=bad)


def test_nat_instance_security_group_only_accepts_traffic_from_the_vpc():
    run = build(cidr_block="10.7.0.0/16", az_count=2, nat="instance")
    ingress = run.named("net-nat-sg")["ingress"]
    assert [rule["cidrBlocks"] for rule in ingress] == [["10.7.0.0/16"]]


def test_s3_gateway_endpoint_is_on_the_private_route_tables():
    run = build(az_count=3)
    s3 = run.named("net-s3")
    assert s3["vpcEndpointType"] == "Gateway"
    assert s3["serviceName"] == f"com.amazonaws.{harness.REGION}.s3"
    assert s3["routeTableIds"] == [f"net-private-{i}-rt-id" for i in range(3)]


def test_interface_endpoints_live_in_private_subnets_behind_their_own_sg():
    run = build(
        cidr_block="10.9.0.0/16",
        az_count=2,
        interface_endpoints=["ecr.api", "ecr.dkr", "secretsmanager"],
    )
    endpoints = [
        e
        for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e["vpcEndpointType"] == "Interface"
    ]
    assert sorted(e["serviceName"] for e in endpoints) == [
        f"com.amazonaws.{harness.REGION}.{s}" for s in ("ecr.api", "ecr.dkr", "secretsmanager")
    ]
    for e in endpoints:
        assert e["subnetIds"] == ["net-private-0-id", "net-private-1-id"]
        assert e["securityGroupIds"] == ["net-endpoints-sg-id"]
        assert e["privateDnsEnabled"] is True
    sg = run.named("net-endpoints-sg")
    assert [(r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in sg["ingress"]] == [
        (443, 443, ["10.9.0.0/16"])
    ]


def test_no_interface_endpoints_and_no_endpoint_sg_by_default():
    run = build(az_count=2)
    assert run.maybe("net-endpoints-sg") is None


def test_flow_logs_capture_all_traffic_into_a_log_group_with_retention():
    run = build(az_count=2, flow_logs_retention_days=30)
    flow = run.named("net-flow-log")
    assert flow["trafficType"] == "ALL"
    assert flow["vpcId"] == "net-vpc-id"
    assert flow["logDestinationType"] == "cloud-watch-logs"
    assert run.named("net-flow-logs")["retentionInDays"] == 30


def test_flow_logs_can_be_switched_off():
    assert build(az_count=2, enable_flow_logs=False).of_type("aws:ec2/flowLog:FlowLog") == []


def test_default_security_group_is_managed_with_no_rules():
    sg = build(az_count=2).named("net-default-sg")
    assert sg["vpcId"] == "net-vpc-id"
    assert sg.get("ingress", []) == [] and sg.get("egress", []) == []


def test_explicit_availability_zones_win():
    run = build(availability_zones=["eu-west-1b", "eu-west-1c"])
    assert [s["availabilityZone"] for s in subnets(run, "isolated")] == ["eu-west-1b", "eu-west-1c"]


def test_availability_zones_may_be_pinned_by_zone_id():
    run = build(availability_zones=["euw1-az3", "euw1-az1"])
    assert [s["availabilityZone"] for s in subnets(run, "private")] == ["eu-west-1c", "eu-west-1a"]


def test_the_last_deployments_zones_are_kept():
    """The region's available list changed (1a went away, 1d appeared): the deployed zones
    stay, so no subnet is replaced."""
    run = build(az_count=2, previous_availability_zones=["eu-west-1c", "eu-west-1a"])
    assert [s["availabilityZone"] for s in subnets(run, "public")] == ["eu-west-1c", "eu-west-1a"]


zone_names = st.lists(
    st.sampled_from([f"eu-west-1{c}" for c in "abcdef"]), unique=True, min_size=3, max_size=6
)


@given(zone_names, zone_names, st.integers(min_value=2, max_value=3))
def test_a_change_in_the_available_zones_never_moves_a_deployed_subnet(first, later, count):
    """Whatever the region's list says later, every zone of the last deployment keeps its
    position (so its subnets keep their AZ), as long as the count does not shrink."""
    first_choice = choose_availability_zones(count, first, [], previous=None)
    later_choice = choose_availability_zones(count, later, [], previous=first_choice)
    assert later_choice[: len(first_choice)] == first_choice
    if set(later) - set(first_choice):
        grown = choose_availability_zones(count + 1, later, [], previous=first_choice)
        assert grown[:count] == first_choice


@pytest.mark.parametrize(
    ("region", "prefix"),
    [
        ("us-east-1", "use1"),
        ("eu-west-1", "euw1"),
        ("ap-northeast-1", "apne1"),
        ("ca-central-1", "cac1"),
        ("us-gov-west-1", "usgw1"),
        ("eu-central-2", "euc2"),
    ],
)
def test_zone_id_prefix_follows_the_region_code(region, prefix):
    """Examples from https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html
    (use1-az1) and the AZ ID lists of each region."""
    assert zone_id_prefix(region) == prefix


@pytest.mark.parametrize(
    "zones",
    [
        ["us-east-1a", "us-east-1b"],
        ["use1-az1", "euw1-az2"],
        ["eu-west-1a"],
        ["eu-west-1a", "eu-west-1a"],
    ],
)
def test_pinned_zones_must_belong_to_the_region(zones):
    with pytest.raises(ValueError):
        check_availability_zones(zones, "eu-west-1")
    with pytest.raises(ComponentArgError, match="availability_zones"):
        build(availability_zones=zones, region="eu-west-1")


def test_a_misspelt_arg_is_refused_with_the_nearest_name():
    with pytest.raises(
        ComponentArgError, match="unknown arg 'cidr_blok'; did you mean 'cidr_block'"
    ):
        build(cidr_blok="10.1.0.0/16")


def test_children_are_parented_to_the_component():
    run = build(az_count=2)
    component = run.named("net")
    assert all(r.parent == component.urn for r in run.resources if r is not component)


def test_tags_reach_taggable_children():
    run = build(az_count=2, tags={"team": "web"})
    assert run.named("net-vpc")["tags"]["team"] == "web"
    assert run.named("net-private-0")["tags"]["Tier"] == "private"
