"""Network: subnet plan, routing per NAT strategy, endpoints, flow logs, default SG."""

from __future__ import annotations

import ipaddress

import harness
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phoenix_aws.network import MAX_AZS, RESERVED_AZ_SLOTS, Network, plan_subnets


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


def test_only_public_subnets_assign_public_ips():
    run = build(az_count=2)
    for s in run.of_type("aws:ec2/subnet:Subnet"):
        assert s["mapPublicIpOnLaunch"] is s.name.startswith("net-public-")


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


def test_nat_instance_user_data_masquerades_through_the_stable_eni():
    import base64

    run = build(az_count=2, nat="instance")
    script = base64.b64decode(run.named("net-nat-lt")["userData"]).decode()
    assert "attach-network-interface" in script and "net-nat-eni-id" in script
    assert "--no-source-dest-check" in script
    assert "MASQUERADE" in script and "ip_forward=1" in script


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


def test_children_are_parented_to_the_component():
    run = build(az_count=2)
    component = run.named("net")
    assert all(r.parent == component.urn for r in run.resources if r is not component)


def test_tags_reach_taggable_children():
    run = build(az_count=2, tags={"team": "web"})
    assert run.named("net-vpc")["tags"]["team"] == "web"
    assert run.named("net-private-0")["tags"]["Tier"] == "private"
