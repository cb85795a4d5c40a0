"""The network's plan, in pure functions that tests and the stack settings call without Pulumi:
how the VPC CIDR is carved into public, private and isolated subnets, which availability zones a
stack uses (and keeps), and which interface endpoints a node without NAT needs.
"""

import ipaddress
from dataclasses import dataclass

# Each tier reserves room for this many AZs, so adding an AZ later never renumbers a subnet.
RESERVED_AZ_SLOTS = 8
MAX_AZS = 6
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 22
TIERS = ("public", "private", "isolated")

# Interface endpoints a private ECS/Fargate node may use instead of NAT, by short name.
KNOWN_INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "ecs",
    "sts",
    "kms",
    "monitoring",
)


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet of the plan: its tier, AZ index and CIDR."""

    tier: str
    az_index: int
    cidr: str


def plan_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPlan]:
    """Carve the VPC CIDR into public, private and isolated subnets for `az_count` AZs.

    The VPC is split into quarters: private gets two (half the addresses, where the nodes are),
    public and isolated one each. Each tier block is divided into RESERVED_AZ_SLOTS equal subnets
    and AZ *i* always takes slot *i*, so the plan for N AZs is a prefix of the plan for N+1.
    """
    network = ipaddress.ip_network(vpc_cidr, strict=True)
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError("the VPC CIDR must be an IPv4 network")
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        raise ValueError(
            f"the VPC CIDR prefix must be between /{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}"
        )
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"the AZ count must be between 1 and {MAX_AZS}")

    quarters = list(network.subnets(prefixlen_diff=2))
    blocks = {
        "private": next(network.subnets(prefixlen_diff=1)),
        "public": quarters[2],
        "isolated": quarters[3],
    }
    slot_bits = (RESERVED_AZ_SLOTS - 1).bit_length()
    plan: list[SubnetPlan] = []
    for tier in TIERS:
        slots = list(blocks[tier].subnets(prefixlen_diff=slot_bits))
        plan.extend(SubnetPlan(tier, i, str(slots[i])) for i in range(az_count))
    return plan


def endpoint_service_name(region: str, short_name: str) -> str:
    """`com.amazonaws.<region>.<service>` for an endpoint short name such as `ecr.dkr`."""
    return f"com.amazonaws.{region}.{short_name}"


# AZ IDs (`euw1-az1`) name the same physical zone in every account, unlike AZ names.
# https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html
_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def zone_id_prefix(region: str) -> str:
    """The region code that starts its AZ IDs: `use1` for us-east-1, `euw1` for eu-west-1,
    `apne1` for ap-northeast-1, `usgw1` for us-gov-west-1."""
    parts = region.split("-")
    if len(parts) == 4 and parts[1] == "gov":
        parts = [parts[0] + "g", parts[2], parts[3]]
    if len(parts) != 3 or parts[1] not in _DIRECTIONS or not parts[2].isdigit():
        raise ValueError(f"{region!r} is not an AWS region name such as eu-west-1")
    return f"{parts[0]}{_DIRECTIONS[parts[1]]}{parts[2]}"


def check_availability_zones(zones: list[str], region: str | None = None) -> list[str]:
    """Pinned AZs: 2-6 distinct AZ names (`eu-west-1a`) or AZ IDs (`euw1-az1`), all of the
    stack's region when it is known."""
    if len(zones) < 2:
        raise ValueError(
            "at least two availability zones are needed, so one AZ outage is not an outage"
        )
    if len(zones) > MAX_AZS:
        raise ValueError(f"at most {MAX_AZS} availability zones are supported")
    if len(set(zones)) != len(zones):
        raise ValueError("availability zones must be distinct")
    if region:
        prefix = zone_id_prefix(region)
        for zone in zones:
            is_name = zone.startswith(region) and len(zone) == len(region) + 1
            is_id = zone.startswith(f"{prefix}-az") and zone[len(prefix) + 3 :].isdigit()
            if not (is_name and zone[-1].isalpha()) and not is_id:
                raise ValueError(
                    f"{zone!r} is not an availability zone of {region} "
                    f"(expected names like {region}a or IDs like {prefix}-az1)"
                )
    return zones


def choose_availability_zones(
    count: int,
    available_names: list[str],
    available_ids: list[str],
    *,
    pinned: list[str] | None = None,
    previous: list[str] | None = None,
) -> list[str]:
    """The AZ names a stack uses, fixed once so that a change in the region's list of available
    AZs never moves (replaces) a subnet.

    Pinned AZs (names or IDs) win. Otherwise the AZs of the last deployment are kept in their
    order (`previous`), trimmed or extended with the first other available AZs up to `count`.
    Only a first deployment takes the region's first `count` available AZs.
    """
    by_id = dict(zip(available_ids, available_names, strict=False))
    if pinned:
        names = [by_id.get(zone, zone) for zone in pinned]
        unknown = [z for z, n in zip(pinned, names, strict=True) if n not in available_names]
        if unknown:
            raise ValueError(
                f"availability zone(s) {', '.join(unknown)} are not available in this region "
                f"(available: {', '.join(available_names)})"
            )
        return names
    chosen = list((previous or [])[:count])
    for name in available_names:
        if len(chosen) == count:
            break
        if name not in chosen:
            chosen.append(name)
    if len(chosen) < count:
        raise ValueError(
            f"the region has {len(available_names)} available AZs "
            f"({', '.join(available_names)}), {count} requested"
        )
    return chosen


def check_vpc_cidr(cidr: str) -> str:
    """An IPv4 network of /16 to /22 that the subnet plan can carve (see `plan_subnets`)."""
    plan_subnets(cidr, 1)
    return cidr


def check_az_count(count: int) -> int:
    if not 2 <= count <= MAX_AZS:
        raise ValueError(
            f"use 2 to {MAX_AZS} availability zones (two, so one AZ outage is not an outage)"
        )
    return count


def check_interface_endpoints(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in KNOWN_INTERFACE_ENDPOINTS]
    if unknown:
        raise ValueError(
            f"unknown endpoint {unknown[0]!r}; "
            f"expected any of {', '.join(KNOWN_INTERFACE_ENDPOINTS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError("each endpoint may be listed once")
    return names


# A private Fargate node with no route to the internet reaches AWS only through these: pull the
# image (ECR API, ECR Docker registry, image layers in S3 through the gateway endpoint), read
# its secrets and ship its logs. https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
# and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
FARGATE_NODE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


def endpoints_missing_without_nat(endpoints: list[str], needed: tuple[str, ...]) -> list[str]:
    """Endpoints that nodes in private subnets without NAT still need."""
    return [name for name in needed if name not in endpoints]
