"""Execute planned release steps against a stack: change config, `pulumi up`, wait, smoke-test.

The stack is reached through a small `StackDriver` protocol so the execution logic is tested
without the Pulumi CLI; `AutomationDriver` is the real one (Pulumi Automation API).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from release.plan import Step, apply_changes

NAMESPACE = "phoenix-aws"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class PulumiCliMissingError(RuntimeError):
    """The Pulumi CLI is not installed: the release command cannot run `pulumi up`."""


class StackDriver(Protocol):
    def release_config(self) -> dict[str, Any]: ...
    def edge_config(self) -> dict[str, Any]: ...
    def set_release_config(self, release: dict[str, Any]) -> None: ...
    def up(self) -> None: ...
    def outputs(self) -> dict[str, Any]: ...


def require_pulumi_cli(which: Callable[[str], str | None] = shutil.which) -> str:
    path = which("pulumi")
    if not path:
        raise PulumiCliMissingError(
            "the Pulumi CLI is not installed or not on PATH. The release command runs "
            "`pulumi up` through the Pulumi Automation API and needs it: install it "
            "(https://www.pulumi.com/docs/install/) and log in to your state backend."
        )
    return path


class AutomationDriver:
    """The real stack, through the Automation API (needs the Pulumi CLI)."""

    def __init__(self, stack_name: str, echo: Callable[[str], None] = print) -> None:
        require_pulumi_cli()
        from pulumi import automation as auto

        self._auto = auto
        self._echo = echo
        # The migration and ECR helpers run under `pulumi up`: give them this interpreter (boto3).
        env = {"PHOENIX_AWS_PYTHON": sys.executable, "PHOENIX_AWS_HOME": str(PROJECT_DIR)}
        self.stack = auto.select_stack(
            stack_name=stack_name,
            work_dir=str(PROJECT_DIR),
            opts=auto.LocalWorkspaceOptions(env_vars={**os.environ, **env}),
        )

    def _config(self, key: str) -> dict[str, Any]:
        values = self.stack.get_all_config()
        entry = values.get(f"{NAMESPACE}:{key}")
        return json.loads(entry.value) if entry else {}

    def release_config(self) -> dict[str, Any]:
        return self._config("release")

    def edge_config(self) -> dict[str, Any]:
        return self._config("edge")

    def set_release_config(self, release: dict[str, Any]) -> None:
        self.stack.set_config(f"{NAMESPACE}:release", self._auto.ConfigValue(json.dumps(release)))

    def up(self) -> None:
        self.stack.up(on_output=self._echo)

    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self.stack.outputs().items()}


def smoke_test(url: str, header: str, slot: str, path: str = "/health", timeout: float = 10) -> str:
    """GET `url + path` with `header: slot` through the real edge; 200 or raise."""
    request = urllib.request.Request(url.rstrip("/") + path, headers={header: slot})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(200).decode(errors="replace")
            return f"{response.status} {body.strip()}"
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"smoke test of slot {slot} failed: HTTP {exc.code} from {url}{path}"
        ) from exc
    except OSError as exc:
        raise RuntimeError(f"smoke test of slot {slot} failed: {exc}") from exc


def execute(
    steps: list[Step],
    driver: StackDriver,
    *,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    tester: Callable[[str, str, str], str] = smoke_test,
) -> None:
    """Run the steps in order; each config change is saved before its `pulumi up`, so a rerun
    after an interruption re-plans from where the stack really is."""
    total = len(steps)
    for number, step in enumerate(steps, start=1):
        echo(f"[{number}/{total}] {step.title}")
        if step.changes:
            release = apply_changes(driver.release_config(), step.changes)
            driver.set_release_config(release)
        if step.changes and step.up:
            driver.up()
        if step.pin_image_slot:
            digest = (driver.outputs().get("slot_images") or {}).get(step.pin_image_slot)
            if not digest or "@sha256:" not in digest:
                raise RuntimeError(
                    f"no built digest for slot {step.pin_image_slot} in the stack outputs"
                )
            driver.set_release_config(
                apply_changes(driver.release_config(), {f"{step.pin_image_slot}.image": digest})
            )
            echo(f"      pinned slot {step.pin_image_slot} to {digest}")
            driver.up()
        if step.smoke_test_slot:
            url = driver.outputs()["url"]
            header = driver.edge_config().get("test_header", "X-Release-Slot")
            echo("      " + tester(url, header, step.smoke_test_slot))
        if step.wait_seconds:
            echo(f"      waiting {step.wait_seconds} s")
            sleep(step.wait_seconds)
    echo("done")
