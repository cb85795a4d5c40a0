"""metrics-api: an internal HTTP API (not Phoenix) that reuses phoenix-aws's components.

The VPC, the database and the public edge come from phoenix_aws; the service itself is plain
ECS on Fargate written here, registered with the edge's blue target group.
"""

import json

import pulumi
import pulumi_aws as aws
from phoenix_aws.database import Database
from phoenix_aws.load_balancer import LoadBalancer, TrafficRouting
from phoenix_aws.network import NatStrategy, Network

config = pulumi.Config()
name = f"{pulumi.get_project()}-{pulumi.get_stack()}"
tags = {"service": "metrics-api", "stack": pulumi.get_stack()}

network = Network(
    "net",
    {"cidr_block": config.require("cidr"), "az_count": 2, "nat": NatStrategy.SINGLE, "tags": tags},
)

service_sg = aws.ec2.SecurityGroup(
    "api-sg", vpc_id=network.vpc_id, description="metrics-api tasks", tags=tags
)
aws.vpc.SecurityGroupEgressRule(
    "api-https-out",
    security_group_id=service_sg.id,
    ip_protocol="tcp",
    from_port=443,
    to_port=443,
    cidr_ipv4="0.0.0.0/0",
    description="Pull the image and reach AWS APIs",
)

database = Database(
    "db",
    {
        "vpc_id": network.vpc_id,
        "subnet_ids": network.isolated_subnet_ids,
        "client_security_group_id": service_sg.id,
        "identifier": f"{name}-db",
        "engine_version": "16",
        "instance_class": "db.t4g.small",
        "multi_az": False,
        "app_username": "metrics",
        "tags": tags,
    },
)

edge = LoadBalancer(
    "edge",
    {
        "name_parts": [pulumi.get_project(), pulumi.get_stack()],
        "vpc_id": network.vpc_id,
        "subnet_ids": network.public_subnet_ids,
        "target_security_group_id": service_sg.id,
        "app_port": 8080,
        "domain_name": config.require("domain"),
        "certificate_arn": config.require("certificate_arn"),
        "health_check": {"path": "/healthz"},
        "tags": tags,
    },
)

cluster = aws.ecs.Cluster("api", name=name, tags=tags)
execution_role = aws.iam.Role(
    "api-execution",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
    tags=tags,
)
task = aws.ecs.TaskDefinition(
    "api",
    family=name,
    requires_compatibilities=["FARGATE"],
    network_mode="awsvpc",
    cpu="256",
    memory="512",
    execution_role_arn=execution_role.arn,
    container_definitions=pulumi.Output.all(database.address, database.app_username).apply(
        lambda a: json.dumps(
            [
                {
                    "name": "api",
                    "image": config.require("image"),
                    "essential": True,
                    "portMappings": [{"containerPort": 8080}],
                    "environment": [
                        {"name": "DB_HOST", "value": a[0]},
                        {"name": "DB_USER", "value": a[1]},
                    ],
                }
            ]
        )
    ),
    tags=tags,
)
service = aws.ecs.Service(
    "api",
    cluster=cluster.arn,
    task_definition=task.arn,
    desired_count=2,
    launch_type="FARGATE",
    network_configuration={
        "subnets": network.private_subnet_ids,
        "security_groups": [service_sg.id],
        "assign_public_ip": False,
    },
    load_balancers=[
        {
            "target_group_arn": edge.target_group_arns.apply(lambda arns: arns["blue"]),
            "container_name": "api",
            "container_port": 8080,
        }
    ],
    tags=tags,
)
routing = TrafficRouting(
    "traffic",
    {
        "listener_arn": edge.production_listener_arn,
        "target_group_arns": edge.target_group_arns,
        "live": "blue",
        "ready": service.id,
        "tags": tags,
    },
)

pulumi.export("url", edge.url)
pulumi.export("database_endpoint", database.address)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
