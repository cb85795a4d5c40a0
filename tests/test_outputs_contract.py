"""The outputs contract (phoenix_aws.outputs): what an app exports, what the release command reads
from a deployed stack, and what the program reads back at its next `up`, named in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from phoenix_aws.outputs import APP_OUTPUTS, OPTIONAL_OUTPUTS, RELEASE_OUTPUTS, STATE_OUTPUTS

from offline.mocks import ROOT

WITH_EVERYTHING = {
    "pubsub": {"adapter": "redis"},
    "monitoring": {"enabled": True},
    "edge": {"waf": {"enabled": True}},
}


def test_the_contract_is_one_documented_set():
    assert set(APP_OUTPUTS) >= RELEASE_OUTPUTS | STATE_OUTPUTS | OPTIONAL_OUTPUTS
    assert all(description.strip() for description in APP_OUTPUTS.values())
    assert not (RELEASE_OUTPUTS | STATE_OUTPUTS) & OPTIONAL_OUTPUTS


def test_the_stack_program_exports_exactly_the_documented_outputs(run_stack):
    bare = run_stack("dev")
    everything = run_stack("dev", **WITH_EVERYTHING)
    required = set(APP_OUTPUTS) - OPTIONAL_OUTPUTS
    assert required <= set(bare.exports), required - set(bare.exports)
    assert set(everything.exports) == set(APP_OUTPUTS), set(everything.exports) ^ set(APP_OUTPUTS)
    assert "redis_endpoint" not in bare.exports  # only where its part exists


def outputs_read_by(folder: Path) -> set[str]:
    """Names read from stack outputs: `outputs.get("x")`, `self.outputs().get("x")`,
    `outputs["x"]`."""

    def is_outputs(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in ("outputs", "deployed")
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "outputs"
        )

    found: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            key = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and is_outputs(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                key = node.args[0].value
            elif (
                isinstance(node, ast.Subscript)
                and is_outputs(node.value)
                and isinstance(node.slice, ast.Constant)
            ):
                key = node.slice.value
            if isinstance(key, str):
                found.add(key)
    return found


def test_the_release_command_reads_only_the_release_outputs():
    read = outputs_read_by(ROOT / "release")
    assert {"release_state", "target_group_arns", "slot_services"} <= read
    assert read <= RELEASE_OUTPUTS, read - RELEASE_OUTPUTS
