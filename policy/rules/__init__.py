"""The guardrails as plain validation functions: what every phoenix-aws stack must (or should) be.

Each rule is named for the AWS Foundational Security Best Practices control it enforces (`elb-5-…`
enforces ELB.5), or, for the AWS rules a real deployment would otherwise hit (issue 9: combinations
AWS refuses, quotas, ordering), for what it checks. Its docstring's first line is the description
the CLI prints, and its `AWS docs:` line is the page that defines it.

- A *resource rule* sees one resource's properties, exactly as the engine sends them to a policy
  pack: camelCase input names, numbers as floats, nested objects as read-only mappings.
- A *stack rule* sees every resource of the stack with its properties and dependencies (URNs).

Rules are *mandatory* when they guard a security boundary (who can reach or read what, what gets
recorded) and *advisory* when the only thing at stake is cost or availability; only advisory
rules can be waived (see `policy/waivers.py`).

This package needs nothing but the standard library, so the policy pack (`policy/__main__.py`),
the tests and any script can call the functions directly.

The rules live in one module per concern, registered in this order (the order of `RULES`):
`model` (what a rule sees, registration, evaluation), `properties` (resource types and property
readers), then `edge`, `network`, `containers`, `data_stores`, `monitoring`, `waf` and
`identity`.
"""

import importlib

from .model import (
    PRODUCTION,
    RULES,
    Context,
    Enforcement,
    Finding,
    Resource,
    ResourceCheck,
    Rule,
    Stack,
    StackCheck,
    Violation,
    evaluate,
    resource_rule,
    rule_named,
    stack_rule,
)

RULE_MODULES = ("edge", "network", "containers", "data_stores", "monitoring", "waf", "identity")
"""Imported in this order, each registering its rules: `RULES` keeps this order."""
for _module in RULE_MODULES:
    importlib.import_module(f".{_module}", __name__)

from .containers import secret_looking  # noqa: E402 (registered above, in order)

__all__ = [
    "PRODUCTION",
    "RULES",
    "Context",
    "Enforcement",
    "Finding",
    "Resource",
    "ResourceCheck",
    "Rule",
    "Stack",
    "StackCheck",
    "Violation",
    "evaluate",
    "resource_rule",
    "rule_named",
    "secret_looking",
    "stack_rule",
]
