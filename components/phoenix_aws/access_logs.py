"""The load balancer's access log bucket: private, TLS-only, SSE-S3 (the only encryption ALB log
delivery writes with), expiring by a lifecycle rule, and writable by ELB log delivery only.
"""

import json

import pulumi
import pulumi_aws as aws

from .naming import bucket_prefix


def access_log_bucket_policy(bucket_arn: str, elb_account_arn: str, account_id: str) -> dict:
    """Let ELB log delivery write under `alb/AWSLogs/<account>/` (the regional ELB account in
    older regions, the log-delivery service principal in newer ones) and refuse plain HTTP.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"""
    target = f"{bucket_arn}/alb/AWSLogs/{account_id}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbAccountLogDelivery",
                "Effect": "Allow",
                "Principal": {"AWS": elb_account_arn},
                "Action": "s3:PutObject",
                "Resource": target,
            },
            {
                "Sid": "ElbServiceLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": target,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def create_access_log_bucket(
    parent: pulumi.Resource, name: str, parts: list[str], retention_days: int, tags: dict[str, str]
) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    """The log bucket (a child of `parent`, named `<name>-logs…`), and what must exist before ELB
    can write to it.

    The bucket and its settings outlive the stack (`retain_on_delete`): a teardown keeps the
    access logs, private, TLS-only and still expiring by the lifecycle rule, and the next stack
    gets a new bucket (the name is a prefix)."""
    child = pulumi.ResourceOptions(parent=parent, retain_on_delete=True)
    bucket = aws.s3.Bucket(
        f"{name}-logs",
        bucket_prefix=bucket_prefix(*parts, "alb-logs"),
        force_destroy=False,
        tags=tags,
        opts=child,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-logs-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-logs-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    # ALB log delivery writes only with SSE-S3 (not SSE-KMS).
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-logs-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-logs-lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": retention_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=child,
    )
    policy = _bucket_policy(parent, name, bucket, public_access, child)
    return bucket, [policy, ownership, public_access, encryption]


def _bucket_policy(
    parent: pulumi.Resource,
    name: str,
    bucket: aws.s3.Bucket,
    public_access: aws.s3.BucketPublicAccessBlock,
    child: pulumi.ResourceOptions,
) -> aws.s3.BucketPolicy:
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    elb_account = aws.elb.get_service_account_output(opts=invoke)
    caller = aws.get_caller_identity_output(opts=invoke)
    return aws.s3.BucketPolicy(
        f"{name}-logs-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, elb_account.arn, caller.account_id).apply(
            lambda a: json.dumps(access_log_bucket_policy(a[0], a[1], a[2]))
        ),
        # Public access block first: with it in place the policy is checked as non-public.
        opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[public_access])
        ),
    )
