"""ReleaseLockTable: where a stack's release lock and release history live.

One DynamoDB table per stack. The release command (`python -m release`) writes one lock item with
a conditional write — DynamoDB applies a conditional write atomically, so of two releases that
try at once exactly one gets the lock
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)
— and one history item per release event. A laptop, another laptop and a CI runner therefore
exclude each other, which a CI `concurrency` group alone cannot do.

On-demand capacity (a release writes a few items), encrypted at rest, point-in-time recovery
(the history is the record of who released what), and deletion protection unless turned off.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import DYNAMODB_TABLE_NAME, physical_name
from .validation import arg_error, check_arg, check_args, check_tags, component_type

PARTITION_KEY = "pk"
SORT_KEY = "sk"


class ReleaseLockTableArgs(TypedDict):
    """Inputs of a ReleaseLockTable."""

    name_parts: list[str]
    """Parts of the table's name, e.g. [project, stack]; `release` is appended."""
    protect: NotRequired[bool]
    """Deletion protection on the table (and Pulumi's `protect`). Default: true."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


def lock_table_name(name_parts: list[str]) -> str:
    """`<project>-<stack>-release`, within DynamoDB's name limit."""
    return physical_name(*name_parts, "release", rule=DYNAMODB_TABLE_NAME)


class ReleaseLockTable(pulumi.ComponentResource):
    """The DynamoDB table of a stack's release lock and release history."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ReleaseLockTableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("ReleaseLockTable"), name, None, opts)
        check_args("ReleaseLockTable", name, args, ReleaseLockTableArgs)
        if not args["name_parts"]:
            raise arg_error("ReleaseLockTable", name, "name_parts", "give at least one part")
        check_arg("ReleaseLockTable", name, "tags", args.get("tags"), check_tags)
        protect = args.get("protect", True)
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=lock_table_name(args["name_parts"]),
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attributes=[
                {"name": PARTITION_KEY, "type": "S"},
                {"name": SORT_KEY, "type": "S"},
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=protect,
            tags=dict(args.get("tags") or {}),
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.table_name = self.table.name
        self.table_arn = self.table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})
