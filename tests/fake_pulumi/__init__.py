"""A fake `pulumi` on PATH for the Automation API driver's tests (see pulumi_cli.py)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("pulumi_cli.py")


class FakePulumi:
    """Installs the fake as `<dir>/bin/pulumi` and reads back what it was asked."""

    def __init__(self, directory: Path, **state: Any) -> None:
        self.directory = directory
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin / "pulumi"
        # -S -E: the fake needs only the standard library, and starts in a few milliseconds.
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S -E {shlex.quote(str(SCRIPT))} "$@"\n'
        )
        wrapper.chmod(0o755)
        self.state = {"stacks": ["prod"], "outputs": {}, **state}
        self.save()

    def save(self) -> None:
        (self.directory / "state.json").write_text(json.dumps(self.state))

    def env(self) -> dict[str, str]:
        return {
            "FAKE_PULUMI_DIR": str(self.directory),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def calls(self) -> list[dict[str, Any]]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def commands(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]
