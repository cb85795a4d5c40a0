"""Real BEAM nodes on loopback, started the way a task starts its release: long names
(RELEASE_DISTRIBUTION=name), the task's cookie (RELEASE_COOKIE, a sample value) and the task's
ERL_AFLAGS. They must connect, listen for distribution only on ports the node security group
of the stack's mock run opens between nodes, and refuse a node with another cookie."""

from __future__ import annotations

import functools
import socket
import subprocess
from dataclasses import dataclass

import pytest
from elixir import toolchain

STACKS = toolchain.stacks()
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ClusterCheck:
    ping: str  # what node b's ping of node a returned
    connected: bool  # a is in b's nodes()
    ports: tuple[int, int]  # the distribution ports of a and b
    stranger_ping: str  # what a node with another cookie got


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def erl(
    name: str, cookie: str, erl_aflags: str, epmd_port: int, program: str
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a node named `name` that runs `program` (Erlang)."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "ERL_AFLAGS": erl_aflags,
        # A private EPMD, so the test neither needs nor disturbs one on 4369.
        "ERL_EPMD_PORT": str(epmd_port),
    }
    command = [toolchain.require("erl"), "-noshell", "-name", f"{name}@{HOST}"]
    return [*command, "-setcookie", cookie, "-eval", program], environment


@functools.cache
def check_cluster(erl_aflags: str, cookie: str) -> ClusterCheck:
    """Starts node a, then node b (same cookie) and node c (another cookie), which report."""
    epmd_port = free_port()
    command, environment = erl(
        "a", cookie, erl_aflags, epmd_port, 'io:format("ready~n"), io:get_line(""), erlang:halt().'
    )
    node_a = subprocess.Popen(
        command, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert node_a.stdout is not None and node_a.stdout.readline().strip() == "ready"
        b_program = (
            f"Pong = net_adm:ping('a@{HOST}'), "
            f'{{port, PortA, _}} = erl_epmd:port_please("a", "{HOST}"), '
            f'{{port, PortB, _}} = erl_epmd:port_please("b", "{HOST}"), '
            f"io:format(\"~p ~p ~p ~p~n\", [Pong, lists:member('a@{HOST}', nodes()), PortA, PortB]), "
            "erlang:halt()."
        )
        command, environment = erl("b", cookie, erl_aflags, epmd_port, b_program)
        b = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=20)
        ping, connected, port_a, port_b = b.stdout.split()
        c_program = f"io:format(\"~p~n\", [net_adm:ping('a@{HOST}')]), erlang:halt()."
        command, environment = erl("c", cookie + "-other", erl_aflags, epmd_port, c_program)
        c = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=20)
        return ClusterCheck(ping, connected == "true", (int(port_a), int(port_b)), c.stdout.strip())
    finally:
        if node_a.stdin:
            node_a.stdin.close()
        try:
            node_a.wait(timeout=5)
        except subprocess.TimeoutExpired:
            node_a.kill()
            node_a.wait()
        subprocess.run(
            [toolchain.require("epmd"), "-port", str(epmd_port), "-kill"],
            env={"PATH": "/usr/bin:/bin", "ERL_EPMD_PORT": str(epmd_port)},
            capture_output=True,
            timeout=10,
        )


def node_settings(stack: str) -> tuple[str, str]:
    """The ERL_AFLAGS and cookie every slot of the stack gives its nodes."""
    tasks = toolchain.service_tasks(stack)
    flags = {t.plain["ERL_AFLAGS"] for t in tasks}
    cookies = {t.environment["RELEASE_COOKIE"] for t in tasks}
    assert len(flags) == 1 and len(cookies) == 1, f"{stack}: slots differ: {flags} {cookies}"
    assert {t.plain["RELEASE_DISTRIBUTION"] for t in tasks} == {"name"}
    return flags.pop(), cookies.pop()


def node_to_node_ranges(stack: str) -> list[tuple[int, int]]:
    """Port ranges the node security group accepts from itself (the stack's ingress rules)."""
    rules = toolchain.stack_run(stack).of_type(INGRESS_RULE)
    return [
        (int(r["fromPort"]), int(r["toPort"]))
        for r in rules
        if r.get("referencedSecurityGroupId") == r.get("securityGroupId")
        and r.get("ipProtocol") == "tcp"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_with_the_tasks_cookie_and_flags_connect(stack):
    check = check_cluster(*node_settings(stack))
    assert check.ping == "pong"
    assert check.connected


@pytest.mark.parametrize("stack", STACKS)
def test_distribution_ports_are_ones_the_node_security_group_opens(stack):
    ranges = node_to_node_ranges(stack)
    assert ranges, f"{stack}: no node-to-node ingress rule"
    for port in check_cluster(*node_settings(stack)).ports:
        assert any(low <= port <= high for low, high in ranges), (port, ranges)
        # EPMD's own rule does not count: distribution must not depend on it being wide open.
        assert port != 4369


@pytest.mark.parametrize("stack", STACKS)
def test_a_node_with_another_cookie_cannot_connect(stack):
    assert check_cluster(*node_settings(stack)).stranger_ping == "pang"
