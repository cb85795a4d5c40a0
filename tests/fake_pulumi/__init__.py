"""A fake `pulumi` on PATH for the Automation API driver's tests (see pulumi.sh)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("pulumi.sh")
PROGRAM = Path(__file__).with_name("program.py")


def release_defaults() -> dict[str, Any]:
    """Every release setting's default, from the settings model (what program.py fills in)."""
    from stacks.settings import SlotSettings, StepInProgress  # noqa: F401 - the section's parts
    from stacks.settings.release import ReleaseSettings

    top = {
        name: getattr(info.default, "value", info.default)
        for name, info in ReleaseSettings.model_fields.items()
        if name not in ("blue", "green")
    }
    slot = SlotSettings().model_dump(mode="json")
    return {**top, "blue": dict(slot), "green": dict(slot)}


class FakePulumi:
    """Installs the fake as `<dir>/bin/pulumi`, sets what it answers, reads back what it was asked.

    `state`: `stacks` (names that exist), `outputs` (the stack outputs), `secret_outputs` (keys
    shown as "[secret]" without --show-secrets), `fail_ups` (1-based `up` calls that fail).
    The stack's `release_state` is the stack file's release section (see program.py): read
    from the file at the first output read, then from the file each successful `up` read.
    """

    def __init__(self, directory: Path, **state: Any) -> None:
        self.directory = directory
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        (directory / "calls").mkdir()
        shutil.copy(SCRIPT, self.bin / "pulumi")
        (self.bin / "pulumi").chmod(0o755)
        shutil.copy(PROGRAM, directory / "program.py")
        (directory / "python").write_text(sys.executable + "\n")
        (directory / "defaults.json").write_text(json.dumps(release_defaults()))
        self.state: dict[str, Any] = {"stacks": ["prod"], "outputs": {}, **state}
        self.save()

    def save(self) -> None:
        outputs = self.state.get("outputs", {})
        masked = {
            key: "[secret]" if key in self.state.get("secret_outputs", []) else value
            for key, value in outputs.items()
        }
        (self.directory / "stacks").write_text("".join(f"{s}\n" for s in self.state["stacks"]))
        (self.directory / "outputs.json").write_text(json.dumps(outputs))
        (self.directory / "outputs-masked.json").write_text(json.dumps(masked))
        (self.directory / "fail_ups").write_text(
            "".join(f"{n}\n" for n in self.state.get("fail_ups", []))
        )

    def env(self) -> dict[str, str]:
        return {
            "FAKE_PULUMI_DIR": str(self.directory),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def calls(self) -> list[dict[str, Any]]:
        """Every call in order: argv, cwd, env, and for `up` the stack file it read."""
        calls = []
        numbered = (self.directory / "calls").glob("*.argv")
        for argv_file in sorted(numbered, key=lambda path: int(path.stem)):
            base = argv_file.with_suffix("")
            env_pairs = base.with_suffix(".env").read_text().split("\0")[:-1]
            call: dict[str, Any] = {
                "argv": argv_file.read_text().split("\0")[:-1],
                "cwd": base.with_suffix(".cwd").read_text().strip(),
                "env": dict(pair.split("=", 1) for pair in env_pairs),
            }
            stack_file = base.with_suffix(".stack_file")
            if stack_file.exists():
                call["stack_file"] = stack_file.read_text()
            calls.append(call)
        return calls

    def commands(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]
