"""A stack in another partition or Region: every ARN the program builds comes from the partition
the provider reports (`aws-cn` in China, `aws-us-gov` in GovCloud), never a literal `arn:aws:`,
and the deploy-time helpers run in the stack's Region, whatever the operator's default is.

The mocks answer `getPartition`, `getRegion` and `getCallerIdentity` as the provider does for the
configured Region (the partition table of botocore, the SDK's own), and give every resource an ARN
in that partition, so a literal `arn:aws:` anywhere in the inputs is one the program wrote.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

import json
import re

import pytest
from phoenix_aws.validation import partition_of

from offline import mocks

OTHER_PARTITIONS = ["cn-north-1", "us-gov-west-1"]


@pytest.fixture(scope="module", params=OTHER_PARTITIONS)
def run(request):
    region = request.param
    config = mocks.with_overrides(
        {**mocks.stack_config("prod"), "aws:region": region},
        # Sample ARNs of the stack file are eu-west-1's (aws); this stack's are its partition's.
        app={
            "secrets": {
                "SENTRY_DSN": f"arn:{partition_of(region)[0]}:secretsmanager:{region}:"
                "123456789012:secret:shop/sentry-dsn-AbCdEf"
            }
        },
        network={"nat": "instance"},
        pubsub={"adapter": "redis"},
    )
    config["phoenix-aws:release"] = json.loads(
        json.dumps(config["phoenix-aws:release"]).replace("eu-west-1", region)
    )
    return region, mocks.run_main(config, stack="prod")


def test_no_arn_the_program_builds_names_another_partition(run):
    region, result = run
    partition, _ = partition_of(region)
    assert partition != "aws"
    arns = set()
    for resource in result.resources:
        for text in mocks.walk_strings(resource.inputs):
            arns.update(re.findall(r"arn:[a-z-]+:[a-z0-9-]*:", text))
    assert arns, "no ARN in the graph"
    wrong = sorted(a for a in arns if not a.startswith(f"arn:{partition}:"))
    assert not wrong, wrong


def test_regional_service_principals_use_the_partitions_dns_suffix(run):
    region, result = run
    _, suffix = partition_of(region)
    key = json.loads(result.named("cluster-exec-key")["policy"])
    principals = [s["Principal"] for s in key["Statement"] if "Service" in s["Principal"]]
    assert principals == [{"Service": f"logs.{region}.{suffix}"}]


def test_the_deploy_time_helpers_get_the_stacks_region(run):
    """The migration runner and the in-use tagger run on the operator's machine: they are told
    the stack's Region, so a profile in another Region cannot send them elsewhere."""
    region, result = run
    commands = result.of_type("command:local:Command")
    migrations = [c for c in commands if "migrate_task" in c["create"]]
    taggers = [c for c in commands if "ecr_tags" in c["create"]]
    assert migrations and taggers
    assert {c["environment"]["MIGRATION_REGION"] for c in migrations} == {region}
    assert {c["environment"]["ECR_REGION"] for c in taggers} == {region}
