"""The drain against the real Phoenix JavaScript client: the phoenix.min.js of each checked
version (npm's `phoenix` package, the file a page loads), under Node, with the reconnect options
the example's page passes (`examples/phoenix_app/priv/static/js/phoenix_aws_reconnect.js`).

`tests/node/drain_clients.mjs` connects the clients through a stand-in load balancer to the
slot being drained ("blue"), moves the load balancer's weights to the live slot ("green"), then
closes every socket the way Phoenix under Bandit closes a transport that receives the app's
shed message. Every shed client must come back, to green, within the jitter bound, spread over
it. Control groups show what the test tells apart: clients without the page's options come back
together (the stampede the jitter prevents), and a normal closure (code 1000, what Phoenix 1.7's
`disconnect` broadcast gives under Bandit >= 1.10.4) loses every phoenix.js 1.7 client.

Nothing here skips: a missing Node or npm package fails the test and says how to install it.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elixir import toolchain

NODE_DIR = Path(__file__).with_name("node")
SCRIPT = NODE_DIR / "drain_clients.mjs"
RECONNECT_SCRIPT = toolchain.APP / "priv" / "static" / "js" / "phoenix_aws_reconnect.js"
INSTALL_NODE = "apt-get install -y nodejs npm (Node 18 or later)"
INSTALL_PACKAGES = "npm ci --prefix tests/node (what .ci/run does)"

# How Phoenix closes a WebSocket transport that receives each message, under Bandit (and under
# Cowboy through WebSockAdapter, which maps the same stop reasons):
# - `:socket_drain`: Phoenix.Socket.__info__/2 returns {:stop, {:shutdown, :restart}, state}
#   (phoenix lib/phoenix/socket.ex, 1.7.2 onwards, every 1.8), which Bandit closes with 1012
#   (bandit lib/bandit/websocket/connection.ex, every 1.x; websock_adapter cowboy_adapter.ex);
# - the `disconnect` broadcast: {:stop, {:shutdown, :disconnected}, state}, which Bandit >= 1.10.4
#   closes with 1000 (Phoenix 1.8.8 and later send 1001 instead).
TRANSPORT_CLOSE_CODE = {":socket_drain": 1012, "disconnect broadcast, Phoenix 1.7": 1000}

# Clients per group: enough to see the spread, few enough to stay fast.
PAGE_CLIENTS = 60
CONTROL_CLIENTS = 12
# Time the event loop of one Node process serving every client may add to a reconnect (the
# close handshakes of all groups arrive together).
SLACK_MS = 1500


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "`node` is not installed, and the drain's client checks need it. "
            f"Install it with: {INSTALL_NODE}, then {INSTALL_PACKAGES}",
            pytrace=False,
        )
    return node


def locked_versions(node_dir: Path = NODE_DIR) -> dict[str, str]:
    """alias → version of every `phoenix` the lock file pins (`phoenix-<version>` aliases)."""
    lock = json.loads((node_dir / "package-lock.json").read_text())
    return {
        path.removeprefix("node_modules/"): entry["version"]
        for path, entry in lock["packages"].items()
        if path.startswith("node_modules/phoenix-") and entry.get("name") == "phoenix"
    }


def require_packages(node_dir: Path = NODE_DIR) -> dict[str, Path]:
    """version → phoenix.min.js of each locked version, as installed; fails with the install
    line when one is missing or not the locked version."""
    found = {}
    for alias, version in locked_versions(node_dir).items():
        package = node_dir / "node_modules" / alias
        manifest = package / "package.json"
        installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        if installed != version:
            pytest.fail(
                f"npm package {alias} (phoenix {version}) is not installed in tests/node. "
                f"Install the locked packages with: {INSTALL_PACKAGES}",
                pytrace=False,
            )
        found[version] = package / "priv" / "static" / "phoenix.min.js"
    if not (node_dir / "node_modules" / "ws" / "package.json").exists():
        pytest.fail(f"npm package ws is not installed. Run: {INSTALL_PACKAGES}", pytrace=False)
    return found


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def reconnects_after_server_close(version: str, code: int) -> bool:
    """phoenix.js's rule (assets/js/phoenix/socket.js, `onConnClose`): after the server closes
    the socket it schedules a reconnect unless the code is 1000; from 1.8.16 on it reconnects
    after any close it did not start itself."""
    return code != 1000 or version_tuple(version) >= (1, 8, 16)


def app_phoenix_requirement() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The example's `{:phoenix, "~> a.b.c or ~> x.y.z"}` as [lowest, first excluded) ranges
    (Elixir's `~> a.b.c` means >= a.b.c and < a.(b+1).0)."""
    mix = (toolchain.APP / "mix.exs").read_text()
    match = re.search(r'\{:phoenix, "([^"]+)"', mix)
    assert match, "mix.exs has no phoenix requirement"
    ranges = []
    for clause in match.group(1).split(" or "):
        low = version_tuple(clause.removeprefix("~> ").strip())
        assert len(low) == 3, f"expected ~> major.minor.patch, got {clause!r}"
        ranges.append((low, (low[0], low[1] + 1, 0)))
    return ranges


def shed_message() -> str:
    """The message the app's shedder sends a transport (`Shop.Drain.Sockets.close_message/0`),
    as Elixir prints it."""
    elixir = toolchain.require("elixir")
    program = (
        'Code.require_file("lib/shop/drain/sockets.ex"); '
        "IO.puts(inspect(Shop.Drain.Sockets.close_message()))"
    )
    out = subprocess.run(
        [elixir, "-e", program],
        cwd=toolchain.APP,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@functools.cache
def drain_run() -> dict[str, Any]:
    """One run of every checked version and group (about 7 s, mostly the jitter)."""
    node = require_node()
    versions = require_packages()
    code = TRANSPORT_CLOSE_CODE[shed_message()]
    config = {
        "reconnect_script": str(RECONNECT_SCRIPT),
        "versions": {v: str(path) for v, path in versions.items()},
        "groups": [
            {"name": "page", "options": "page", "close_code": code, "clients": PAGE_CLIENTS},
            {"name": "default", "options": "default", "close_code": code},
            {"name": "normal closure", "options": "default", "close_code": 1000},
        ],
        # Clients get the page's jitter bound (JITTER_MS, read by the script) plus this.
        "slack_ms": SLACK_MS,
    }
    for group in config["groups"]:
        group.setdefault("clients", CONTROL_CLIENTS)
        group["expect_back"] = group["close_code"] != 1000
    out = subprocess.run(
        [node, str(SCRIPT), json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    result["close_code"] = code
    return result


def clients(version: str, group: str) -> list[dict[str, Any]]:
    found = [
        c
        for c in drain_run()["clients"].values()
        if c["version"] == version and c["group"] == group
    ]
    assert found, f"no {group} clients of {version}"
    return found


def first_reconnect_ms(client: dict[str, Any]) -> float:
    assert client["reconnects"], f"a client never came back: {client}"
    return float(client["reconnects"][0]["after_ms"])


VERSIONS = sorted(locked_versions().values(), key=version_tuple)


def test_the_checked_versions_are_the_ones_the_app_allows():
    """The oldest version mix.exs allows, and the newest of each allowed minor on npm."""
    ranges = app_phoenix_requirement()
    for version in VERSIONS:
        assert any(low <= version_tuple(version) < high for low, high in ranges), version
    assert ranges[0][0] in {version_tuple(v) for v in VERSIONS}
    for low, _high in ranges:
        assert any(version_tuple(v)[:2] == low[:2] for v in VERSIONS), low


def test_the_shed_message_is_one_phoenix_closes_with_a_reconnect_code():
    code = TRANSPORT_CLOSE_CODE[shed_message()]
    assert all(reconnects_after_server_close(v, code) for v in VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_shed_client_sees_the_close_code_phoenix_sends(version):
    assert {c["close_code"] for c in clients(version, "page")} == {drain_run()["close_code"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_shed_client_reconnects_and_rejoins_on_the_live_slot(version):
    for client in clients(version, "page"):
        assert client["first_slot"] == "blue"
        assert [r["slot"] for r in client["reconnects"]] == ["green"], client
        assert [r["slot"] for r in client["rejoined"]] == ["green"], client


@pytest.mark.parametrize("version", VERSIONS)
def test_shed_clients_come_back_within_the_jitter_bound(version):
    bound = drain_run()["jitter_ms"] + SLACK_MS
    delays = [first_reconnect_ms(c) for c in clients(version, "page")]
    assert max(delays) <= bound, sorted(delays)[-5:]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_page_options_spread_reconnects_where_the_default_schedule_stampedes(version):
    jitter = drain_run()["jitter_ms"]
    spread = [first_reconnect_ms(c) for c in clients(version, "page")]
    default = [first_reconnect_ms(c) for c in clients(version, "default")]
    # 60 uniform draws over the jitter cover at least half of it (failure odds ~1e-16).
    assert max(spread) - min(spread) >= jitter / 2
    # Without the options every client is back within moments of the others.
    assert max(default) - min(default) < jitter / 4


@pytest.mark.parametrize("version", VERSIONS)
def test_a_normal_closure_loses_the_clients_that_treat_1000_as_final(version):
    """The failure the drain fixes, seen by this harness: phoenix.js before 1.8.16 never comes
    back after a 1000 (the code of Phoenix 1.7's `disconnect` broadcast under Bandit)."""
    came_back = [c for c in clients(version, "normal closure") if c["reconnects"]]
    expected = reconnects_after_server_close(version, 1000)
    assert len(came_back) == (CONTROL_CLIENTS if expected else 0)


def test_no_client_goes_back_to_the_slot_that_shed_it():
    returned = [
        c
        for c in drain_run()["clients"].values()
        if any(r["slot"] == "blue" for r in c["reconnects"])
    ]
    assert returned == []


def test_a_missing_node_fails_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(pytest.fail.Exception) as failure:
        require_node()
    assert "`node` is not installed" in str(failure.value)
    assert "apt-get install -y nodejs npm" in str(failure.value)
    assert "npm ci --prefix tests/node" in str(failure.value)


def test_a_missing_package_fails_and_says_how_to_install_it(tmp_path):
    (tmp_path / "package-lock.json").write_text((NODE_DIR / "package-lock.json").read_text())
    with pytest.raises(pytest.fail.Exception) as failure:
        require_packages(tmp_path)
    assert "is not installed in tests/node" in str(failure.value)
    assert "npm ci --prefix tests/node" in str(failure.value)
