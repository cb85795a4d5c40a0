"""rel/env.sh.eex of examples/phoenix_app, rendered by EEx as `mix release` renders it and sourced
by /bin/sh with a task's environment, against a stand-in for the ECS task metadata endpoint (a
loopback HTTP server answering like the real one)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elixir import toolchain

STACKS = toolchain.stacks()


def task_ip(stack: str) -> str:
    """An address inside the stack's VPC, as a task would get one."""
    cidr = toolchain.stack_config(stack)["phoenix-aws:network"]["cidr"]
    return str(ipaddress.ip_network(cidr)[2 * 256 + 117])


def container_metadata(ip: str) -> dict:
    """The shape of a Fargate container metadata response (Amazon ECS Developer Guide, "Amazon
    ECS task metadata v4 examples for tasks on Fargate": the container metadata response)."""
    return {
        "DockerId": "cd189a933e5849daa93386466019ab50-2495160603",
        "Name": "shop",
        "DockerName": "shop",
        "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "a" * 64,
        "Labels": {"com.amazonaws.ecs.container-name": "shop"},
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 1024, "Memory": 2048},
        "Type": "NORMAL",
        "Networks": [
            {
                "NetworkMode": "awsvpc",
                "IPv4Addresses": [ip],
                "AttachmentIndex": 0,
                "MACAddress": "0a:de:f6:10:51:e5",
                "IPv4SubnetCIDRBlock": str(ipaddress.ip_network(f"{ip}/24", strict=False)),
                "DomainNameServers": ["10.0.0.2"],
                "PrivateDNSName": "ip-" + ip.replace(".", "-") + ".eu-west-1.compute.internal",
                "SubnetGatewayIpv4Address": ip.rsplit(".", 1)[0] + ".1/24",
            }
        ],
    }


class MetadataHandler(BaseHTTPRequestHandler):
    """GET /<layout>/<ip>: the container metadata for <ip>, pretty-printed (as the docs show it)
    or compact; GET /without-address: metadata without an IPv4 address."""

    def do_GET(self) -> None:
        _, layout, *rest = self.path.split("/")
        metadata = container_metadata(rest[0] if rest else "0.0.0.0")
        if layout == "without-address":
            metadata["Networks"][0]["IPv4Addresses"] = []
        body = json.dumps(metadata, indent=4 if layout == "pretty" else None).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def metadata_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetadataHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def env_sh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("release") / "env.sh"
    path.write_text(toolchain.batch().ok("env_sh"))
    return path


def source_env_sh(env_sh: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """Sources env.sh as bin/<app> does, then prints what the release will use."""
    toolchain.require("wget")
    return subprocess.run(
        [
            toolchain.require("sh"),
            "-c",
            '. "$1" && printf "%s\\n%s\\n" "$RELEASE_NODE" "$RELEASE_DISTRIBUTION"',
            "sh",
            str(env_sh),
        ],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )


@pytest.mark.parametrize("stack", STACKS)
def test_the_node_is_named_app_at_the_task_ip_and_distributes_by_name(
    stack, env_sh, metadata_endpoint
):
    ip = task_ip(stack)
    for task in toolchain.service_tasks(stack):
        environment = {
            **task.environment,
            "ECS_CONTAINER_METADATA_URI_V4": f"{metadata_endpoint}/pretty/{ip}",
        }
        node, distribution = source_env_sh(env_sh, environment).stdout.splitlines()
        assert node == f"{task.plain['RELEASE_NAME']}@{ip}", task.id
        assert distribution == "name", task.id


def test_compact_metadata_gives_the_same_name(env_sh, metadata_endpoint):
    task = toolchain.reference_task()
    environment = {
        **task.environment,
        "ECS_CONTAINER_METADATA_URI_V4": f"{metadata_endpoint}/compact/10.40.3.9",
    }
    node, _ = source_env_sh(env_sh, environment).stdout.splitlines()
    assert node == f"{task.plain['RELEASE_NAME']}@10.40.3.9"


def test_outside_ecs_the_node_gets_a_loopback_name(env_sh):
    node, distribution = source_env_sh(env_sh, {}).stdout.splitlines()
    assert (node, distribution) == ("shop@127.0.0.1", "name")


def test_metadata_without_an_address_is_reported_and_the_node_falls_back(env_sh, metadata_endpoint):
    environment = {"ECS_CONTAINER_METADATA_URI_V4": f"{metadata_endpoint}/without-address"}
    result = source_env_sh(env_sh, environment)
    assert result.stdout.splitlines()[0] == "shop@127.0.0.1"
    assert "no IPv4 address in the task metadata" in result.stderr
