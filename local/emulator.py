"""The moto server the `local` stack applies to: found, started and stopped.

moto keeps every resource in memory, so the emulator's life is the life of what the local stack
created. This module starts it in its own process group (it outlives the command that started it:
`python -m local` returns after `pulumi up`), remembers that it did (a pid file in the local
state directory) and stops only a moto it started itself. A moto that was already running is
reused and left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
Answer = Literal["moto", "other", "nothing"]


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def emulator_endpoints(config: Mapping[str, Any]) -> set[str]:
    """Every address a stack file's `aws:endpoints` sends a service to."""
    return {
        str(url)
        for entry in config.get("aws:endpoints") or []
        if isinstance(entry, Mapping)
        for url in entry.values()
    }


def emulator_url(config: Mapping[str, Any]) -> str | None:
    """The emulator a stack applies to, when `aws:endpoints` sends every service to one address
    on this machine (the `local` stack: moto on 127.0.0.1); None for a stack that uses AWS."""
    urls = emulator_endpoints(config)
    if len(urls) != 1:
        return None
    (url,) = urls
    return url if urlsplit(url).hostname in LOOPBACK_HOSTS else None


class EmulatorError(RuntimeError):
    """The emulator cannot be used or started; the message says why and what to do."""


@dataclass(frozen=True)
class Emulator:
    """A moto server on `host:port`, its pid file and log in `state_dir`."""

    host: str
    port: int
    state_dir: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "moto.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "moto.log"

    def answers(self) -> Answer:
        """Who listens on the port: moto (its `/moto-api/data.json` is moto's own dashboard
        data), something else, or nothing."""
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=3) as response:
                json.loads(response.read() or b"null")
        except urllib.error.HTTPError:
            return "other"
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return "nothing"
        except ValueError:
            return "other"
        return "moto"

    def started_pid(self) -> int | None:
        """The pid of the moto this command started, while that process still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_moto_process(pid) else None

    def start(self) -> int:
        """Start moto in the background and wait until it answers; its pid."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in this terminal later does not stop it
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise EmulatorError(
                    f"moto exited at start (status {process.returncode}); its log: "
                    f"{self.log_file}\n  {_tail(self.log_file)}"
                )
            if self.answers() == "moto":
                return process.pid
            time.sleep(0.2)
        self.stop()
        raise EmulatorError(
            f"moto did not answer on {self.url} within {START_TIMEOUT_SECONDS:.0f} s; "
            f"its log: {self.log_file}"
        )

    def stop(self) -> bool:
        """Stop the moto this command started (True), or do nothing (False)."""
        pid = self.started_pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it once it has exited
        if done == pid:
            return False
    return True


def _is_moto_process(pid: int) -> bool:
    """Whether `pid` runs and is a moto server (a pid file can outlive its process, and the
    number be reused), read with `ps`, which Linux and macOS both have."""
    if not _alive(pid):
        return False
    try:
        command = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return False
    return "moto" in command


def _tail(path: Path, lines: int = 5) -> str:
    try:
        kept = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  ".join(kept)
