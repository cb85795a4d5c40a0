"""Teardown works as docs/production.md says: with its "lift the protections" block applied, nothing in
any shipped stack would stop `pulumi destroy`, and what the page says is kept is kept.

What stops a delete, by AWS's rules:
- Pulumi refuses to delete a resource with `protect` set (Pulumi docs, "Resource option: protect").
- RDS DeleteDBInstance fails while `DeletionProtection` is on, and needs a
  `FinalDBSnapshotIdentifier` unless `SkipFinalSnapshot` (RDS API reference, DeleteDBInstance).
- ELB DeleteLoadBalancer fails while `deletion_protection.enabled` is on (ELB user guide,
  "Deletion protection").
- DynamoDB DeleteTable fails while deletion protection is on (DynamoDB developer guide, "Using
  deletion protection").
- ECR DeleteRepository fails on a repository with images unless `force` (ECR API reference,
  DeleteRepository).
- S3 DeleteBucket fails on a bucket with objects (S3 API reference, DeleteBucket): without
  `force_destroy` such a bucket must be retained (`retain_on_delete`), never deleted.
"""

import re

import harness
import pytest
import yaml

PAGE = (harness.ROOT / "docs" / "production.md").read_text()
BUCKET = "aws:s3/bucket:Bucket"


def teardown_config(redis: bool = False) -> dict:
    """The page's block; with `redis`, its commented Redis lines too."""
    block = PAGE.split("<!-- teardown config: begin -->", 1)[1].split("<!-- teardown", 1)[0]
    (body,) = re.findall(r"```yaml\n(.*?)```", block, re.DOTALL)
    if redis:
        body = re.sub(r"^#  ", "  ", body, flags=re.MULTILINE)
    return yaml.safe_load(body)["config"]


def destroy_blockers(run: harness.Run) -> list[str]:
    """Why `pulumi destroy` would stop, one line per resource (the rules in the module doc)."""
    blockers = []
    for r in run.resources:
        if r.protect:
            blockers.append(f"{r.name}: protect")
        if r.type == "aws:rds/instance:Instance":
            if r.get("deletionProtection"):
                blockers.append(f"{r.name}: deletion protection")
            if not r.get("skipFinalSnapshot") and not r.get("finalSnapshotIdentifier"):
                blockers.append(f"{r.name}: no final snapshot name")
        if r.type == "aws:lb/loadBalancer:LoadBalancer" and r.get("enableDeletionProtection"):
            blockers.append(f"{r.name}: deletion protection")
        if r.type == "aws:dynamodb/table:Table" and r.get("deletionProtectionEnabled"):
            blockers.append(f"{r.name}: deletion protection")
        if r.type == "aws:ecr/repository:Repository" and not (
            r.get("forceDelete") or r.retain_on_delete
        ):
            blockers.append(f"{r.name}: a repository with images is not deleted")
        if r.type == BUCKET and not (r.get("forceDestroy") or r.retain_on_delete):
            blockers.append(f"{r.name}: a bucket with objects is not deleted")
    return blockers


def torn_down(stack: str, **sections: dict) -> harness.Run:
    config = harness.with_overrides(harness.stack_config(stack), **sections)
    for key, value in teardown_config(redis="pubsub" in sections).items():
        config[key] = harness._deep_merge(config.get(key) or {}, value)
    return harness.run_main(config, stack=stack)


@pytest.mark.parametrize("stack", ["prod", "dev", "local"])
def test_after_the_documented_teardown_block_nothing_stops_destroy(stack: str) -> None:
    assert destroy_blockers(torn_down(stack)) == []


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_dev_and_local_can_be_destroyed_as_shipped(stack: str) -> None:
    """The page says these two have their protections lifted already."""
    assert destroy_blockers(harness.run_main(harness.stack_config(stack), stack=stack)) == []


def test_prod_as_shipped_protects_every_stateful_resource() -> None:
    run = harness.run_main(harness.stack_config("prod"), stack="prod")
    blocked = {line.split(":")[0] for line in destroy_blockers(run)}
    assert {"database-instance", "edge-alb", "image-repo"} <= blocked
    secrets = [r.name for r in run.of_type("aws:secretsmanager/secret:Secret")]
    assert secrets and set(secrets) <= blocked


def test_prod_teardown_keeps_a_final_snapshot_and_the_access_logs() -> None:
    run = torn_down("prod")
    (db,) = run.of_type("aws:rds/instance:Instance")
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"].startswith("phoenix-aws-prod-db-final-")
    retained = {r.name for r in run.resources if r.retain_on_delete}
    (bucket,) = run.of_type(BUCKET)
    assert bucket.name in retained
    # Its settings stay with it, so the kept logs stay private, TLS-only and expiring.
    kept_settings = {
        r.type
        for r in run.resources
        if r.retain_on_delete and r.get("bucket") is not None and r.type.startswith("aws:s3/")
    }
    assert {
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    } <= kept_settings
    # Nothing else outlives the stack unannounced.
    assert all(r.type.startswith("aws:s3/") for r in run.resources if r.retain_on_delete)


def test_generated_secrets_stay_recoverable_for_30_days() -> None:
    run = torn_down("prod")
    windows = {r["recoveryWindowInDays"] for r in run.of_type("aws:secretsmanager/secret:Secret")}
    assert windows == {30}


def test_with_redis_the_documented_lines_for_redis_lift_its_protection() -> None:
    redis = {"adapter": "redis"}
    assert destroy_blockers(torn_down("prod", pubsub=redis)) == []
    run = harness.run_main(
        harness.with_overrides(harness.stack_config("prod"), pubsub=redis), stack="prod"
    )
    blocked = {line.split(":")[0] for line in destroy_blockers(run)}
    assert {"pubsub-redis", "pubsub-auth-token"} <= blocked
