"""Two releases in one BEAM cluster, with real nodes: what the cluster policy (docs/app-contract.md,
"Two versions in one cluster") promises.

During a release with `cluster.discovery: shared` (every shipped stack) the old slot's nodes and
the new slot's nodes form one cluster, and a broadcast from either reaches the subscribers of
both (Phoenix.PubSub's default adapter sends it to every member of a `:pg` group on every node).
Each "release" here is a build of one small module, `Compat.Lobby` (tests/elixir/versions/): the
message a node broadcasts and how a subscriber reads it. One node of each build joins one cluster
(the task's way: long names, one cookie) and both broadcast:

- an additive change (a new key, read with a default) is read by both releases, both ways;
- a breaking change (a renamed key) crashes the old release's subscriber on the new message and
  the new one's on the old: this is why the policy forbids it within a shared cluster;
- the same breaking pair under `per_slot` discovery (two clusters that never connect) crashes
  nothing, and each release's broadcast reaches only its own slot: what per_slot gives instead.
"""

from __future__ import annotations

import functools
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from elixir import toolchain

VERSIONS = Path(__file__).with_name("elixir") / "versions"
BUILDS = {"v1": "lobby_v1.ex", "v2": "lobby_v2.ex", "v2-breaking": "lobby_v2_breaking.ex"}
HOST = "127.0.0.1"
COOKIE = "sample-release-cookie"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@functools.cache
def builds() -> dict[str, str]:
    """Each release's `Compat.Lobby`, compiled by the real Elixir into its own directory."""
    out = Path(tempfile.mkdtemp(prefix="cluster-versions-"))
    pairs = {name: (str(VERSIONS / source), str(out / name)) for name, source in BUILDS.items()}
    program = "".join(
        f'File.mkdir_p!("{dst}"); '
        f'{{:ok, _, _}} = Kernel.ParallelCompiler.compile_to_path(["{src}"], "{dst}"); '
        ":code.purge(Compat.Lobby); :code.delete(Compat.Lobby); "
        for src, dst in pairs.values()
    )
    done = subprocess.run(
        [toolchain.require("elixir"), "-e", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {name: dst for name, (_src, dst) in pairs.items()}


def node(name: str, build: str, peer: str, role: str, epmd_port: int) -> subprocess.Popen[str]:
    command = [
        toolchain.require("elixir"),
        "--name",
        f"{name}@{HOST}",
        "--cookie",
        COOKIE,
        "-pa",
        builds()[build],
        str(VERSIONS / "node.exs"),
        f"{peer}@{HOST}" if peer else "",
        role,
    ]
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "ERL_EPMD_PORT": str(epmd_port)}
    return subprocess.Popen(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


Report = tuple[str, str, str, str]  # (on release, from release, read|crashed, detail)


def parse(output: str) -> list[Report]:
    reports = []
    for line in output.splitlines():
        if line.count("\t") == 4:
            _on, version, sender, outcome, detail = line.split("\t")
            reports.append((version, sender.split(" ", 1)[-1], outcome, detail))
    return reports


@functools.cache
def clusters() -> dict[str, list[Report]]:
    """Every scenario at once: a shared cluster of v1 and v2, one of v1 and v2-breaking, and
    v1 and v2-breaking in two clusters (per_slot)."""
    epmd_port = free_port()
    scenarios = {"additive": ("v1", "v2"), "breaking": ("v1", "v2-breaking")}
    started: dict[str, list[subprocess.Popen[str]]] = {}
    try:
        builds()
        # Every node boots at once; a second node starts once its first one is ready.
        firsts = {
            scenario: node(f"old-{scenario}", old, "", "first", epmd_port)
            for scenario, (old, _new) in scenarios.items()
        }
        started["per_slot"] = [
            node("old-alone", "v1", "", "second", epmd_port),
            node("new-alone", "v2-breaking", "", "second", epmd_port),
        ]
        for scenario, first in firsts.items():
            started[scenario] = [first]
            assert first.stdout is not None and first.stdout.readline().strip() == "ready"
            second = node(
                f"new-{scenario}", scenarios[scenario][1], f"old-{scenario}", "second", epmd_port
            )
            started[scenario].insert(0, second)
        results: dict[str, list[Report]] = {}
        for scenario, processes in started.items():
            reports: list[Report] = []
            for process in processes:
                out, err = process.communicate(timeout=60)
                assert process.returncode == 0, err
                reports += parse(out)
            results[scenario] = reports
        return results
    finally:
        for processes in started.values():
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        subprocess.run(
            [toolchain.require("epmd"), "-port", str(epmd_port), "-kill"],
            env={"PATH": "/usr/bin:/bin", "ERL_EPMD_PORT": str(epmd_port)},
            capture_output=True,
            timeout=10,
        )


def outcomes(scenario: str) -> dict[tuple[str, str], str]:
    """(subscriber's release, sender's release) → read|crashed."""
    found = {(on, sender): outcome for on, sender, outcome, _ in clusters()[scenario]}
    assert "missing" not in found.values(), clusters()[scenario]
    return found


def test_an_additive_change_is_read_by_both_releases_both_ways():
    assert outcomes("additive") == {
        ("v1", "v1"): "read",
        ("v1", "v2"): "read",
        ("v2", "v1"): "read",
        ("v2", "v2"): "read",
    }
    details = {(on, sender): detail for on, sender, _, detail in clusters()["additive"]}
    # The new release reads the old message with its default; the old one ignores the new key.
    assert details[("v2", "v1")] == '{:shown, "hello", "someone"}'
    assert details[("v1", "v2")] == '{:shown, "hello"}'


def test_a_breaking_change_crashes_each_release_on_the_others_message_in_a_shared_cluster():
    assert outcomes("breaking") == {
        ("v1", "v1"): "read",
        ("v1", "v2-breaking"): "crashed",
        ("v2-breaking", "v1"): "crashed",
        ("v2-breaking", "v2-breaking"): "read",
    }
    crashes = [d for _, _, outcome, d in clusters()["breaking"] if outcome == "crashed"]
    assert all("FunctionClauseError" in d for d in crashes), crashes


def test_per_slot_discovery_keeps_each_release_to_its_own_cluster():
    assert outcomes("per_slot") == {("v1", "v1"): "read", ("v2-breaking", "v2-breaking"): "read"}


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_every_release_reads_its_own_message(build):
    """The builds are real and distinct: each node ran the module of its own release."""
    versions = {on for reports in clusters().values() for on, *_ in reports}
    assert build in versions
