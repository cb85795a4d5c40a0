"""The check after a slot's service changes: ECS's PRIMARY deployment must run the task definition
the `up` just registered, and have completed (`phoenix_aws.helpers.deployment_check`, run through
pulumi-command on the machine that runs `pulumi up`). A deployment the circuit breaker rolled back
leaves a steady service the provider reports as a success; this fails the `up` instead, before
traffic moves.
"""

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_command as command

from .helpers import helper_command


def deployment_check(
    name: str,
    *,
    parent: pulumi.Resource,
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    service_id: pulumi.Input[str],
    task_definition_arn: pulumi.Input[str],
    spot: bool,
    region: pulumi.Input[str],
) -> command.local.Command:
    """The check, re-run whenever the task definition or the capacity provider changes (each
    makes ECS start a new deployment)."""
    return command.local.Command(
        name,
        create=helper_command("deployment_check"),
        environment={
            "DEPLOYMENT_CLUSTER": cluster_name,
            "DEPLOYMENT_SERVICE": service_name,
            "DEPLOYMENT_TASK_DEFINITION": task_definition_arn,
            "DEPLOYMENT_CAPACITY": "FARGATE_SPOT" if spot else "FARGATE",
            "DEPLOYMENT_SERVICE_ID": service_id,  # after the service is steady
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def slot_deployment_check(
    slot: Any, name: str, args: Mapping[str, Any], region: pulumi.Input[str]
) -> command.local.Command | None:
    """A ReleaseSlot's check (after its service); none for a slot that does not wait for a
    steady service (an emulator never completes a deployment)."""
    if not args.get("wait_for_steady_state", True):
        return None
    return deployment_check(
        f"{name}-deployment-check",
        parent=slot,
        cluster_name=args["cluster_name"],
        service_name=slot.service.name,
        service_id=slot.service.id,
        task_definition_arn=slot.task_definition.arn,
        spot=args.get("spot", False),
        region=region,
    )
