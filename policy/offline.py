"""Check a shipped stack against the guardrails without the Pulumi CLI or an AWS account.

    python -m policy.offline prod        # exit status 1 if a mandatory rule is broken

The stack's program runs under Pulumi's mocks (`offline/mocks.py`); every resource it registers
is handed to every rule with its properties exactly as the engine would pass them to the policy
pack (the same protobuf round trip and the same read-only proxies), and the stack's waivers apply.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from policy.rules import PRODUCTION, Context, Enforcement, Resource, Violation, evaluate
from policy.waivers import WaiverError, Waivers, load_waivers, split_waived

NAMESPACE = "phoenix-aws"


def engine_props(wire_inputs: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Properties as a policy pack receives them: a protobuf Struct turned back into Python values
    (numbers become floats, secrets are unwrapped) behind pulumi-policy's unknown-value proxy."""
    struct = json_format.ParseDict(dict(wire_inputs or {}), struct_pb2.Struct())
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def resources_of(recorded: Iterable[Any]) -> list[Resource]:
    """Rule resources from `offline.mocks.Resource` records (wire inputs, URNs, dependencies)."""
    return [
        Resource(
            type=r.type,
            name=r.name,
            props=engine_props(r.raw_inputs),
            urn=r.urn,
            dependencies=tuple(dict.fromkeys(r.dependencies)),
            parent=r.parent or None,
        )
        for r in recorded
    ]


def context_of(stack: str, config: Mapping[str, Any]) -> Context:
    """The rules' context for a stack file's config map."""
    return Context(stack=stack, stage=str(config.get(f"{NAMESPACE}:stage") or PRODUCTION))


@dataclass(frozen=True)
class Report:
    """The outcome of checking one stack."""

    stack: str
    violations: list[Violation]
    """Violations that count (not waived)."""
    waived: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement is Enforcement.MANDATORY]


@functools.cache
def shipped_stack_run(stack: str) -> Any:
    """What `stacks/Pulumi.<stack>.yaml` registers under mocks (an `offline.mocks.Run`), run
    once per process: the program is deterministic and the record is only read."""
    from offline import mocks

    return mocks.run_main(mocks.stack_config(stack), stack=stack)


@functools.cache
def shipped_stack_resources(stack: str) -> tuple[Resource, ...]:
    """The rules' view of every resource a shipped stack registers."""
    return tuple(resources_of(shipped_stack_run(stack).resources))


def check_stack(stack: str, waivers: Waivers | None = None) -> Report:
    """Every rule on every resource of a shipped stack, its waivers applied."""
    from offline import mocks

    context = context_of(stack, mocks.stack_config(stack))
    found = evaluate(shipped_stack_resources(stack), context)
    counted, waived = split_waived(found, stack, load_waivers() if waivers is None else waivers)
    return Report(stack, counted, waived)


PROG = "python -m policy.offline"


def main(argv: list[str] | None = None) -> int:
    from offline.cli import guarded

    return guarded(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    from offline import cli, mocks

    known = mocks.stack_names()
    parser = cli.Parser(
        prog=PROG,
        description="Check shipped stacks against the policy pack under mocks (no CLI, no AWS); "
        "exit status 1 if a mandatory rule is broken.",
    )
    parser.add_argument("stacks", nargs="*", metavar="stack", help=f"default: all of {known}")
    stacks = parser.parse_args(argv).stacks or known
    try:
        waivers = load_waivers()
    except WaiverError as exc:
        raise cli.CommandError(exc.problems, "invalid policy waivers:") from None
    failed = False
    for stack in stacks:
        cli.show_warnings(cli.run_stack(stack))  # the same run check_stack reads (cached)
        report = check_stack(stack, waivers)
        print(f"{stack}: {len(report.violations)} violation(s), {len(report.waived)} waived")
        for v in report.violations:
            print(f"  [{v.enforcement.value}] {v.rule} ({v.resource_name}): {v.message}")
        for rule, reason in waived_reasons(report, waivers).items():
            print(f"  [waived] {rule}: {reason}")
        failed = failed or bool(report.mandatory)
    return 1 if failed else 0


def waived_reasons(report: Report, waivers: Waivers) -> dict[str, str]:
    """Each rule the stack's waivers silenced in this report, with the waiver's reason."""
    reasons = waivers.get(report.stack, {})
    return {v.rule: reasons[v.rule] for v in report.waived}


if __name__ == "__main__":
    sys.exit(main())
