"""A Secrets Manager secret holding one value that Pulumi produced (generated or assembled)."""

import pulumi
import pulumi_aws as aws


def stored_secret(
    name: str,
    *,
    name_prefix: str,
    description: str,
    value: pulumi.Input[str],
    tags: dict[str, str],
    protect: bool,
    parent: pulumi.Resource,
) -> aws.secretsmanager.Secret:
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
    aws.secretsmanager.SecretVersion(
        f"{name}-value",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),  # type: ignore[arg-type]
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret
