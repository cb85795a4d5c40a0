"""`phoenix-aws:network`: the VPC."""

import ipaddress
from typing import Annotated, Any

from phoenix_aws.network import (
    MAX_AZS,
    NatStrategy,
    NetworkArgs,
    check_availability_zones,
    check_interface_endpoints,
    check_nat_instance_type,
    check_vpc_cidr,
)
from phoenix_aws.validation import check_cidr, check_cidr_list, check_log_retention
from pydantic import Field, model_validator

from .base import FieldError, Frozen, ruled

VpcCidr = Annotated[str, ruled(lambda c: check_vpc_cidr(check_cidr(c, version=4)))]
Zones = Annotated[list[str], ruled(check_availability_zones)]
NatInstanceType = Annotated[str, ruled(check_nat_instance_type)]
Endpoints = Annotated[list[str], ruled(check_interface_endpoints)]
Retention = Annotated[int, ruled(check_log_retention)]
Cidrs = Annotated[list[str], ruled(check_cidr_list)]


class NetworkSettings(Frozen):
    """`phoenix-aws:network`: the VPC."""

    cidr: VpcCidr = "10.0.0.0/16"
    """VPC CIDR, /16 to /22. Default: 10.0.0.0/16."""
    az_count: int = Field(default=3, ge=2, le=MAX_AZS)
    """Availability zones used. Default: 3 (production), 2 (development)."""
    availability_zones: Zones | None = None
    """Pin the AZs by ID (`euw1-az1`) or name (`eu-west-1a`). Default: the AZs of the last
    deployment, or on a first deployment the region's first `az_count`."""
    nat: NatStrategy = NatStrategy.PER_AZ
    """none | single | per_az | instance. Default: per_az (production), instance (development)."""
    nat_instance_type: NatInstanceType = "t4g.nano"
    """arm64 (Graviton) type for `nat: instance`. Default: t4g.nano."""
    interface_endpoints: Endpoints = []
    """Interface endpoints in the private subnets, e.g. [ecr.api, ecr.dkr, logs, secretsmanager]."""
    enable_flow_logs: bool = True
    """VPC flow logs (all traffic) to CloudWatch Logs."""
    flow_logs_retention_days: Retention = 90
    """Days the flow logs are kept (a CloudWatch Logs retention value)."""
    peer_cidrs: Cidrs = []
    """Networks this VPC is or will be connected to (peering, VPN, TGW); must not overlap `cidr`."""

    @model_validator(mode="after")
    def _no_overlap(self) -> "NetworkSettings":
        vpc = ipaddress.ip_network(self.cidr)
        for peer in self.peer_cidrs:
            other = ipaddress.ip_network(peer)
            if vpc.version == other.version and vpc.overlaps(other):  # type: ignore[arg-type]
                raise FieldError(
                    ("peer_cidrs",), f"{peer} overlaps the VPC CIDR {self.cidr}", self.peer_cidrs
                )
        return self

    @property
    def effective_az_count(self) -> int:
        return len(self.availability_zones) if self.availability_zones else self.az_count

    def options(self, *, region: str | None) -> NetworkArgs:
        """PhoenixApp's `network` section (the app adds the AZs of the last deployment)."""
        args: dict[str, Any] = {
            "cidr_block": self.cidr,
            "az_count": self.effective_az_count,
            "nat": self.nat,
            "nat_instance_type": self.nat_instance_type,
            "interface_endpoints": list(self.interface_endpoints),
            "enable_flow_logs": self.enable_flow_logs,
            "flow_logs_retention_days": self.flow_logs_retention_days,
        }
        if region:
            args["region"] = region
        if self.availability_zones:
            args["availability_zones"] = list(self.availability_zones)
        return NetworkArgs(**args)  # type: ignore[typeddict-item]
