"""The model a rule sees (resources, the stack graph, the stack's stage), what a rule is, and
how rules are registered and evaluated. Every rule module registers its rules here on import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Enforcement(StrEnum):
    """What a violation does to a preview."""

    MANDATORY = "mandatory"
    """Fails the preview. Security boundaries. Never waived."""
    ADVISORY = "advisory"
    """Printed as a warning. Cost- or availability-driven; a stack may waive it with a reason."""


PRODUCTION = "production"


@dataclass(frozen=True)
class Context:
    """Which stack is checked. `stage` is the stack's `phoenix-aws:stage` (default production)."""

    stack: str
    stage: str = PRODUCTION

    @property
    def production(self) -> bool:
        return self.stage == PRODUCTION


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (resource options and property dependencies together)."""
    parent: str | None = None


@dataclass(frozen=True)
class Finding:
    """A stack rule's finding: the message and the resource it is about (None: the stack)."""

    message: str
    resource: Resource | None = None


@dataclass(frozen=True)
class Violation:
    """A rule broken by a resource (or by the stack as a whole)."""

    rule: str
    enforcement: Enforcement
    message: str
    resource_name: str | None = None
    resource_type: str | None = None
    urn: str | None = None


class Stack:
    """Every resource of a stack, with lookups along the dependency graph."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources if r.urn}
        self._children: dict[str, list[Resource]] = {}
        for r in self.resources:
            if r.parent:
                self._children.setdefault(r.parent, []).append(r)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def dependencies(self, resource: Resource, *types: str) -> list[Resource]:
        """Direct dependencies of `resource` (of the given types, if any)."""
        found: dict[str, Resource] = {}
        for urn in resource.dependencies:
            dep = self.by_urn.get(urn)
            if dep is not None and (not types or dep.type in types):
                found[dep.urn] = dep
        return list(found.values())

    def dependents(self, resource: Resource, *types: str) -> list[Resource]:
        """Resources that depend directly on `resource` (of the given types, if any)."""
        return [
            r
            for r in self.resources
            if resource.urn in r.dependencies and (not types or r.type in types)
        ]

    def closure(self, resource: Resource) -> set[str]:
        """URNs of everything `resource` waits for, transitively. Waiting for a resource that has
        children (a component) means waiting for all of them, as the engine does."""
        seen: set[str] = set()
        pending = list(resource.dependencies)
        while pending:
            urn = pending.pop()
            if urn in seen:
                continue
            seen.add(urn)
            dep = self.by_urn.get(urn)
            if dep is not None:
                pending.extend(dep.dependencies)
            pending.extend(child.urn for child in self._children.get(urn, []))
        return seen


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Stack, Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A guardrail: a plain check plus what the policy pack needs to present it."""

    name: str
    enforcement: Enforcement
    description: str
    doc_url: str
    check: Callable[..., Iterable[Any]]
    control: str | None = None
    """The AWS Foundational Security Best Practices control, e.g. `ELB.5`."""
    resource_types: frozenset[str] = field(default_factory=frozenset)
    """Empty for a stack rule."""
    production_only: bool = False

    @property
    def is_stack_rule(self) -> bool:
        return not self.resource_types

    def applies(self, context: Context) -> bool:
        return context.production or not self.production_only

    def check_resource(self, resource: Resource, context: Context) -> list[Violation]:
        """Violations of this resource rule by `resource` (none if the rule does not apply)."""
        if self.is_stack_rule or resource.type not in self.resource_types:
            return []
        if not self.applies(context):
            return []
        return [
            Violation(
                self.name, self.enforcement, message, resource.name, resource.type, resource.urn
            )
            for message in self.check(resource, context)
        ]

    def check_stack(self, stack: Stack, context: Context) -> list[Violation]:
        """Violations of this stack rule (none if the rule does not apply)."""
        if not self.is_stack_rule or not self.applies(context):
            return []
        return [
            Violation(
                self.name,
                self.enforcement,
                finding.message,
                finding.resource.name if finding.resource else None,
                finding.resource.type if finding.resource else None,
                finding.resource.urn if finding.resource else None,
            )
            for finding in self.check(stack, context)
        ]


RULES: list[Rule] = []


def _register(
    name: str,
    enforcement: Enforcement,
    check: Callable[..., Iterable[Any]],
    control: str | None,
    types: Iterable[str],
    production_only: bool,
) -> None:
    doc = check.__doc__ or ""
    description = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    aws_urls = re.findall(r"AWS docs: (\S+)", doc)
    other_urls = re.findall(r"(?<!AWS )Docs: (\S+)", doc)
    if not description or not (aws_urls or other_urls):
        raise ValueError(f"rule {name}: the docstring needs a description and a docs line")
    if any(rule.name == name for rule in RULES):
        raise ValueError(f"rule {name} is defined twice")
    RULES.append(
        Rule(
            name=name,
            enforcement=enforcement,
            description=description,
            doc_url=(aws_urls or other_urls)[0],
            check=check,
            control=control,
            resource_types=frozenset(types),
            production_only=production_only,
        )
    )


def resource_rule(
    name: str,
    enforcement: Enforcement,
    *types: str,
    control: str | None = None,
    production_only: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a check of single resources of `types`."""

    def decorate(check: ResourceCheck) -> ResourceCheck:
        _register(name, enforcement, check, control, types, production_only)
        return check

    return decorate


def stack_rule(
    name: str,
    enforcement: Enforcement,
    *,
    control: str | None = None,
    production_only: bool = False,
) -> Callable[[StackCheck], StackCheck]:
    """Register a check of the whole stack graph."""

    def decorate(check: StackCheck) -> StackCheck:
        _register(name, enforcement, check, control, (), production_only)
        return check

    return decorate


def evaluate(
    resources: Iterable[Resource], context: Context, rules: Iterable[Rule] | None = None
) -> list[Violation]:
    """Every violation of `rules` (default: all) by the stack made of `resources`."""
    stack = Stack(resources)
    violations: list[Violation] = []
    for rule in RULES if rules is None else rules:
        if rule.is_stack_rule:
            violations.extend(rule.check_stack(stack, context))
        else:
            for resource in stack.resources:
                violations.extend(rule.check_resource(resource, context))
    return violations


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)
