"""The whole program, per stack file: it composes, exports, and the local stack reaches moto only."""

from __future__ import annotations

import harness
import pytest

# Which `aws:endpoints` key serves each pulumi-aws module the program uses.
ENDPOINT_FOR_MODULE = {
    "acm": "acm",
    "appautoscaling": "applicationautoscaling",
    "autoscaling": "autoscaling",
    "cloudwatch": "cloudwatch",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "vpc": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "elasticache": "elasticache",
    "lb": "elbv2",
    "alb": "elbv2",
    "iam": "iam",
    "kms": "kms",
    "rds": "rds",
    "route53": "route53",
    "s3": "s3",
    "secretsmanager": "secretsmanager",
    "servicediscovery": "servicediscovery",
    "sns": "sns",
    "ssm": "ssm",
}
LOG_TYPES = {"aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/logStream:LogStream"}


def endpoint_keys_needed(run: harness.Run) -> set[str]:
    needed = {"sts"}  # the provider always asks STS who it is unless told to skip
    for resource in run.resources:
        if not resource.type.startswith("aws:"):
            continue
        if resource.type in LOG_TYPES:
            needed.add("logs")
            continue
        module = resource.type.split(":")[1].split("/")[0]
        needed.add(ENDPOINT_FOR_MODULE[module])
    return needed


@pytest.mark.parametrize("stack", harness.stack_names())
def test_every_stack_runs_and_exports_the_network(run_stack, stack):
    run = run_stack(stack)
    assert run.exports["vpc_id"] == "network-vpc-id"
    assert len(run.exports["private_subnet_ids"]) == len(run.exports["availability_zones"])


def test_dev_and_prod_differ_in_az_count_and_nat(run_stack):
    dev, prod = run_stack("dev"), run_stack("prod")
    assert len(dev.exports["availability_zones"]) == 2
    assert len(prod.exports["availability_zones"]) == 3
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert dev.of_type("aws:ec2/natGateway:NatGateway") == []
    assert dev.named("network-nat-asg")["maxSize"] == 1


def test_local_stack_sends_every_service_it_uses_to_moto_on_loopback(run_stack):
    config = harness.stack_config("local")
    (endpoints,) = config["aws:endpoints"]
    assert all(url == "http://127.0.0.1:5000" for url in endpoints.values())
    missing = endpoint_keys_needed(run_stack("local")) - set(endpoints)
    assert not missing, f"services the local stack would send to real AWS: {sorted(missing)}"


def test_local_stack_uses_fake_credentials_and_skips_real_aws_checks():
    config = harness.stack_config("local")
    assert (config["aws:accessKey"], config["aws:secretKey"]) == ("test", "test")
    for flag in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck"):
        assert config[f"aws:{flag}"] is True


def test_stack_tags_reach_resources(run_stack):
    vpc = run_stack("prod").named("network-vpc")
    assert vpc["tags"]["phoenix-aws:stack"] == "prod"
    assert vpc["tags"]["cost-center"] == "prod"


def test_local_stack_neither_waits_for_tasks_nor_runs_migrations(run_stack):
    run = run_stack("local")
    assert run.named("slot-blue-service")["waitForSteadyState"] is False
    assert run.of_type("command:local:Command") == [] or all(
        "migrate_task" not in c["create"] for c in run.of_type("command:local:Command")
    )
    assert run.maybe("migrate-blue-run") is None


# What the moto version requirements-dev.txt pins cannot create (measured with
# ../shared/conform/run --stack local --apply): the local stack must not contain any of it.
EMULATOR_GAPS = {
    "aws:appautoscaling/target:Target": "moto lacks Application Auto Scaling's ListTagsForResource",
    "aws:appautoscaling/policy:Policy": "needs a scalable target",
    "aws:elasticache/replicationGroup:ReplicationGroup": "moto answers CacheClusterNotFound",
    "command:local:Command": "helpers call real AWS APIs, not the emulator",
    "docker:index/image:Image": "needs a Docker engine",
}


def test_the_local_stack_avoids_what_the_emulator_cannot_create(run_stack):
    run = run_stack("local")
    present = {r.type for r in run.resources} & set(EMULATOR_GAPS)
    assert present == set(), {t: EMULATOR_GAPS[t] for t in present}
    service = run.named("slot-blue-service")
    assert service["desiredCount"] == 1
    assert "desiredCount" not in service.ignore_changes  # without autoscaling, Pulumi owns it
