"""A Secrets Manager secret holding one value that Pulumi produced (generated or assembled)."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class StoredSecret:
    """A secret and the version that holds its value."""

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion

    @property
    def arn(self) -> pulumi.Output[str]:
        """The secret's ARN, resolving only once its value is stored. Hand this one to tasks: a
        task definition that references a secret without a value yet starts tasks that fail with
        ResourceInitializationError ("unable to retrieve secret … AWSCURRENT").
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/troubleshoot-task-init-errors.html"""
        return pulumi.Output.all(self.secret.arn, self.version.id).apply(lambda a: a[0])


def stored_secret(
    name: str,
    *,
    name_prefix: str,
    description: str,
    value: pulumi.Input[str],
    tags: dict[str, str],
    protect: bool,
    parent: pulumi.Resource,
) -> StoredSecret:
    """Secret `name` (30-day recovery window, `protect` as given) and its version `name-value`,
    whose value is always marked secret in state and never shown in plain text."""
    secret = aws.secretsmanager.Secret(
        name,
        name_prefix=name_prefix,
        description=description,
        recovery_window_in_days=30,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    version = aws.secretsmanager.SecretVersion(
        f"{name}-value",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),  # type: ignore[arg-type]
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return StoredSecret(secret, version)
