"""`python -m local` and `python -m local down`: the local stack in one command each, with the fake
`pulumi` on PATH (tests/fake_pulumi) and a real moto server.

Each scenario runs once per module (moto takes seconds to start); the tests read what it left.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from fake_pulumi import FakePulumi

from local.__main__ import main
from local.emulator import Emulator
from offline.mocks import ROOT

LOCAL_FILE = ROOT / "stacks" / "Pulumi.local.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_on(directory: Path, port: int) -> Path:
    """Pulumi.yaml and the local stack file, its emulator address moved to `port`."""
    (directory / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    text = LOCAL_FILE.read_text().replace("http://127.0.0.1:5000", f"http://127.0.0.1:{port}")
    (directory / "stacks" / "Pulumi.local.yaml").write_text(text)
    return directory


def answers_as_aws(port: int) -> str:
    """The account moto's STS says we are: a real AWS API answered."""
    sts = boto3.client(
        "sts",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return sts.get_caller_identity()["Account"]


class Scenario:
    def __init__(self, root: Path, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.project = project_on(root / "project", port)
        self.fake = FakePulumi(root / "fake", stacks=[])
        for name, value in self.fake.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
        self.emulator = Emulator("127.0.0.1", port, self.project / ".pulumi-local")
        self.lines: list[str] = []
        self.record: dict[str, Any] = {}

    def run(self, *argv: str) -> int:
        return main(list(argv), self.project, self.lines.append)

    def argvs(self, since: int = 0, until: int | None = None) -> list[list[str]]:
        """The CLI calls' arguments, without the Automation API's `--non-interactive`."""
        return [
            [arg for arg in argv if arg != "--non-interactive"]
            for argv in self.fake.commands()[since:until]
        ]

    def commands(self, since: int = 0) -> list[list[str]]:
        return [argv[:2] for argv in self.argvs(since)]


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Scenario:
    """No moto running: up, up again, down."""
    port = free_port()
    with pytest.MonkeyPatch.context() as monkeypatch:
        s = Scenario(tmp_path_factory.mktemp("started"), port, monkeypatch)
        try:
            s.record["up"] = s.run()
            s.record["pid"] = s.emulator.started_pid()
            s.record["account"] = answers_as_aws(port)
            s.record["calls_after_up"] = len(s.fake.calls())
            s.record["up_again"] = s.run("up")
            s.record["pid_again"] = s.emulator.started_pid()
            s.record["calls_after_second_up"] = len(s.fake.calls())
            s.record["down"] = s.run("down")
            s.record["after_down"] = s.emulator.answers()
        finally:
            s.emulator.stop()
        return s


@pytest.fixture(scope="module")
def running_moto():
    """A moto someone else started (here: the test)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    emulator = Emulator("127.0.0.1", port, Path("/nonexistent"))
    deadline = time.monotonic() + 60
    while emulator.answers() != "moto" and time.monotonic() < deadline:
        time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def reused(tmp_path_factory, running_moto) -> Scenario:
    """A moto already running: up, down."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        s = Scenario(tmp_path_factory.mktemp("reused"), running_moto, monkeypatch)
        s.record["up"] = s.run()
        s.record["pid"] = s.emulator.started_pid()
        s.record["down"] = s.run("down")
        s.record["after_down"] = s.emulator.answers()
        return s


def test_up_starts_moto_on_loopback_and_creates_the_local_stack(started):
    assert started.record["up"] == 0, started.lines
    assert started.record["pid"] is not None  # its own moto, remembered
    assert started.record["account"] == "123456789012"  # moto's STS answered on that port
    calls = started.fake.calls()[: started.record["calls_after_up"]]
    argvs = started.argvs(0, started.record["calls_after_up"])
    assert ["stack", "select", "--stack", "local"] in argvs  # not there yet, so:
    assert ["stack", "init", "local"] in argvs
    (up,) = [call for call in calls if "up" in call["argv"]]
    assert "--refresh" in up["argv"] and up["argv"][up["argv"].index("--stack") + 1] == "local"
    assert up["cwd"] == str(started.project)
    state = started.project / ".pulumi-local" / "state"
    assert up["env"]["PULUMI_BACKEND_URL"] == state.as_uri() and state.is_dir()
    assert up["env"]["PULUMI_CONFIG_PASSPHRASE"] == "local"
    assert up["stack_file"] == (started.project / "stacks" / "Pulumi.local.yaml").read_text()


def test_a_second_up_reuses_the_moto_and_the_stack(started):
    assert started.record["up_again"] == 0
    assert started.record["pid_again"] == started.record["pid"]
    later = started.commands(started.record["calls_after_up"])
    assert ["stack", "init"] not in later and ["up", "--yes"] in later


def test_down_destroys_the_stack_and_stops_the_moto_it_started(started):
    assert started.record["down"] == 0, started.lines
    (destroy,) = [
        a for a in started.argvs(started.record["calls_after_second_up"]) if "destroy" in a
    ]
    assert destroy[destroy.index("--stack") + 1] == "local"
    assert started.record["after_down"] == "nothing"
    assert any("stopped the moto this command started" in line for line in started.lines)


def test_a_running_moto_is_reused_and_left_running(reused, running_moto):
    assert reused.record["up"] == 0, reused.lines
    assert reused.record["pid"] is None  # not ours
    assert any("moto already answers" in line for line in reused.lines)
    assert reused.record["down"] == 0
    assert reused.record["after_down"] == "moto"
    assert answers_as_aws(running_moto) == "123456789012"


def test_a_failed_up_is_exit_1_with_the_clis_error(tmp_path, running_moto, monkeypatch, capsys):
    s = Scenario(tmp_path, running_moto, monkeypatch)
    s.fake.state["fail_ups"] = [1]
    s.fake.save()
    assert s.run() == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m local: pulumi up of stack local failed (exit 255):")
    assert "did not stabilize" in err


class NotMoto(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet: the test reads stderr
        pass


def test_a_port_that_is_not_moto_is_refused(tmp_path, monkeypatch, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), NotMoto)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = Scenario(tmp_path, server.server_address[1], monkeypatch)
        assert s.run() == 2
    finally:
        server.shutdown()
    (line,) = capsys.readouterr().err.splitlines()
    assert "answers, but it is not moto" in line and "AirPlay Receiver" in line
    assert s.fake.calls() == []  # nothing reached Pulumi


def test_without_the_pulumi_cli_it_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main([], project_on(tmp_path, free_port()), print) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "the Pulumi CLI is not installed or not on PATH" in line


def test_the_readme_reaches_the_local_stack_in_four_commands_from_a_fresh_clone():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- local path: begin -->", 1)[1].split("<!-- local path: end -->")[0]
    commands = [
        line.split("#", 1)[0].strip()
        for line in block.splitlines()
        if line.strip() and not line.startswith("```")
    ]
    assert len(commands) <= 4
    assert commands[0].startswith("git clone ")
    assert commands[-1] == "python -m local"
    assert "`python -m local down`" in readme
