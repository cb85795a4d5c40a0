"""Glue between the plain rules (`policy/rules/`) and Pulumi CrossGuard (`pulumi-policy`).

Each rule becomes one CrossGuard policy of the same name and enforcement level. A resource rule
sees the resource's properties as the engine sends them; a stack rule sees every resource with
its dependencies. A rule the current stack waives (`policy/waivers.yaml`) reports itself as not
applicable, with the written reason, instead of running.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import PRODUCTION, Context, Enforcement, Resource, Rule, Stack
from policy.waivers import Waivers

PACK_NAME = "phoenix-aws-guardrails"
NAMESPACE = "phoenix-aws"
FRAMEWORK = "AWS Foundational Security Best Practices"
STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"

ContextProvider = Callable[[], Context]


def current_context() -> Context:
    """The stack being previewed and its stage: the stack's `phoenix-aws:stage` config (which the
    CLI passes to the pack), else the stack file's, else production (the settings' default)."""
    stack = os.environ.get("PULUMI_STACK") or pulumi.get_stack()
    stage = pulumi.Config(NAMESPACE).get("stage")
    if stage is None:
        stack_file = STACKS_DIR / f"Pulumi.{stack}.yaml"
        if stack_file.exists():
            stage = _stage_in_file(stack_file.read_text())
    return Context(stack=stack, stage=str(stage or PRODUCTION))


@functools.lru_cache(maxsize=8)
def _stage_in_file(text: str) -> Any:
    """The stage a stack file's text sets (read once per text: the pack asks for every resource)."""
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return (document.get("config") or {}).get(f"{NAMESPACE}:stage")


def to_resource(args: ResourceValidationArgs) -> Resource:
    """The rule's view of a resource under validation."""
    return Resource(
        type=args.resource_type,
        name=args.name,
        props=args.props,
        urn=args.urn,
        parent=args.opts.parent if args.opts is not None else None,
    )


def to_stack(resources: Iterable[PolicyResource]) -> Stack:
    """The rule's view of every resource of the stack."""
    return Stack(
        Resource(
            type=r.resource_type,
            name=r.name,
            props=r.props,
            urn=r.urn,
            dependencies=tuple(d.urn for d in r.dependencies),
            parent=r.parent.urn if r.parent is not None else None,
        )
        for r in resources
    )


LEVELS = {
    Enforcement.MANDATORY: EnforcementLevel.MANDATORY,
    Enforcement.ADVISORY: EnforcementLevel.ADVISORY,
}


def policy_for(rule: Rule, waivers: Waivers, context: ContextProvider) -> Policy:
    """The CrossGuard policy that runs `rule`."""

    def waived(ctx: Context) -> str | None:
        reason = waivers.get(ctx.stack, {}).get(rule.name)
        return f"waived for stack {ctx.stack}: {reason}" if reason else None

    def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        ctx = context()
        reason = waived(ctx)
        if reason:
            args.not_applicable(reason)
        for violation in rule.check_resource(to_resource(args), ctx):
            report(violation.message, None)

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        ctx = context()
        reason = waived(ctx)
        if reason:
            args.not_applicable(reason)
        for violation in rule.check_stack(to_stack(args.resources), ctx):
            report(violation.message, violation.urn)

    framework = (
        PolicyComplianceFramework(name=FRAMEWORK, reference=rule.control) if rule.control else None
    )
    if rule.is_stack_rule:
        return StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=validate_stack,
            enforcement_level=LEVELS[rule.enforcement],
            url=rule.doc_url,
            framework=framework,
        )
    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate_resource,
        enforcement_level=LEVELS[rule.enforcement],
        url=rule.doc_url,
        framework=framework,
    )


def policies(
    rules: Iterable[Rule], waivers: Waivers, context: ContextProvider = current_context
) -> list[Policy]:
    """One CrossGuard policy per rule."""
    return [policy_for(rule, waivers, context) for rule in rules]
