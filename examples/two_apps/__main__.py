"""storefront: two Phoenix apps on one VPC, one load balancer, one ECS cluster and one
PostgreSQL instance, each a `phoenix_aws.PhoenixApp`.

`shop` creates everything and owns `shop.example.com`. `admin` joins shop's network, its load
balancer's listener (for `admin.example.com`, in listener rule priority block 1), its ECS cluster
and its PostgreSQL instance, where it gets a database and a role of its own. Each app keeps its
own target groups, rules, security group rules, secrets, roles, logs and discovery names, and
is released on its own (the stack exports shop's outputs, and admin's under `admin`).
"""

import pulumi
from phoenix_aws import PhoenixApp
from phoenix_aws.network import NatStrategy

config = pulumi.Config()
operators = config.require_object("operator_cidrs")
# HTTPS with a certificate; without one (an emulator, a first try), plain HTTP, said explicitly.
certificate = config.get("certificate_arn")
tls = (
    {"certificate_arn": certificate, "domain_name": "shop.example.com"}
    if certificate
    else {"plain_http_only": True}
)

shop = PhoenixApp(
    "shop",
    {
        "app": {"name": "shop"},
        "release": {"blue": {"image": config.require("shop_image"), "desired_count": 2}},
        "network": {"cidr_block": "10.70.0.0/16", "az_count": 2, "nat": NatStrategy.SINGLE},
        "edge": {**tls, "hosts": ["shop.example.com"], "operator_cidrs": operators},
        "database": {"instance_class": "db.t4g.small"},
    },
)

admin = PhoenixApp(
    "admin",
    {
        "app": {"name": "admin", "cpu": 256, "memory": 512},
        "release": {"blue": {"image": config.require("admin_image"), "desired_count": 2}},
        "existing_network": shop.shared_network(),
        "existing_load_balancer": shop.shared_load_balancer(
            host="admin.example.com", priority_block=1
        ),
        "existing_cluster": shop.shared_cluster(),
        "existing_database": shop.shared_database(),
        "edge": {
            "operator_cidrs": operators,
            "path_allow_lists": [{"path": "/hooks/*", "cidrs": ["192.0.2.0/24"]}],
        },
    },
)

for name, value in shop.exports().items():
    pulumi.export(name, value)
pulumi.export("admin", admin.exports())
