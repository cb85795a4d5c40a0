"""Waivers: the advisory rules a stack does not meet, each with the reason a reviewer reads.

`policy/waivers.yaml` maps a stack name to the rules it waives, each with a written reason:

    dev:
      rds-5-multi-az:
        reason: dev runs one database instance; an AZ outage may take dev down

Only advisory rules (cost- or availability-driven) can be waived; a mandatory rule guards a
security boundary and is fixed, never waived. The file is checked as a whole, and every problem
is reported at once, before any rule runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from policy.rules import RULES, Enforcement, Rule, Violation

WAIVERS_FILE = Path(__file__).resolve().parent / "waivers.yaml"
MIN_REASON_WORDS = 3


class WaiverError(ValueError):
    """The waiver file is invalid; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid policy waivers:\n  " + "\n  ".join(problems))


Waivers = dict[str, dict[str, str]]
"""stack → rule name → reason."""


def parse_waivers(document: Any, rules: Iterable[Rule] = RULES, source: str = "waivers") -> Waivers:
    """Validate a parsed waiver document into stack → rule → reason, or raise WaiverError."""
    by_name = {rule.name: rule for rule in rules}
    problems: list[str] = []
    waivers: Waivers = {}
    if document is None:
        return waivers
    if not isinstance(document, Mapping):
        raise WaiverError([f"{source}: expected a map of stack names to waived rules"])
    for stack, entries in document.items():
        if not isinstance(entries, Mapping):
            problems.append(f"{source}: {stack}: expected a map of rule names to waivers")
            continue
        for rule_name, waiver in entries.items():
            where = f"{source}: {stack}.{rule_name}"
            rule = by_name.get(str(rule_name))
            if rule is None:
                guess = difflib.get_close_matches(str(rule_name), by_name, n=1, cutoff=0.6)
                hint = f"; did you mean {guess[0]!r}?" if guess else ""
                problems.append(f"{where}: no rule has this name{hint}")
                continue
            if rule.enforcement is Enforcement.MANDATORY:
                problems.append(
                    f"{where}: this rule is mandatory (a security boundary) and cannot be "
                    "waived; fix the resource instead"
                )
                continue
            reason = waiver.get("reason") if isinstance(waiver, Mapping) else None
            unknown = sorted(set(waiver) - {"reason"}) if isinstance(waiver, Mapping) else []
            if unknown:
                problems.append(f"{where}: unknown key {unknown[0]!r}; a waiver has a reason")
            if not isinstance(reason, str) or len(reason.split()) < MIN_REASON_WORDS:
                problems.append(
                    f"{where}: a waiver needs a written reason (reason: a sentence of at least "
                    f"{MIN_REASON_WORDS} words saying why this stack may skip the rule)"
                )
                continue
            waivers.setdefault(str(stack), {})[rule.name] = " ".join(reason.split())
    if problems:
        raise WaiverError(problems)
    return waivers


def load_waivers(path: Path | None = None, rules: Iterable[Rule] = RULES) -> Waivers:
    """Read and validate the waiver file (default `policy/waivers.yaml`; missing: no waivers)."""
    path = path or WAIVERS_FILE
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise WaiverError([f"{path.name}: not valid YAML{where}"]) from None
    return parse_waivers(document, rules, source=path.name)


def split_waived(
    violations: Iterable[Violation], stack: str, waivers: Waivers
) -> tuple[list[Violation], list[Violation]]:
    """(violations that count, violations a waiver of `stack` covers)."""
    waived_rules = waivers.get(stack, {})
    counted: list[Violation] = []
    waived: list[Violation] = []
    for violation in violations:
        (waived if violation.rule in waived_rules else counted).append(violation)
    return counted, waived
