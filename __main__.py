"""phoenix-aws: compose the components for one stack. No resource logic, no config parsing here."""

import pulumi

from components.network import Network
from stacks.settings import settings_from_pulumi

settings = settings_from_pulumi()  # raises ConfigError before any resource is registered
tags = {"phoenix-aws:stack": pulumi.get_stack(), **settings.tags}

network = Network(
    "network",
    {
        "cidr_block": settings.network.cidr,
        "az_count": settings.network.az_count,
        **(
            {"availability_zones": settings.network.availability_zones}
            if settings.network.availability_zones
            else {}
        ),
        "nat": settings.network.nat,
        "nat_instance_type": settings.network.nat_instance_type,
        "interface_endpoints": settings.network.interface_endpoints,
        "enable_flow_logs": settings.network.enable_flow_logs,
        "flow_logs_retention_days": settings.network.flow_logs_retention_days,
        "tags": tags,
    },
)

pulumi.export("vpc_id", network.vpc_id)
pulumi.export("availability_zones", network.availability_zones)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
