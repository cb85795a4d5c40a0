"""The app-side contract in examples/phoenix_app matches what the infrastructure provides."""

from __future__ import annotations

import re
from pathlib import Path

import harness
from phoenix_aws.release_slot import FARGATE_MAX_STOP_TIMEOUT

from stacks.settings import EdgeSettings

APP = Path(harness.ROOT) / "examples" / "phoenix_app"


def read(path: str) -> str:
    return (APP / path).read_text()


def test_runtime_config_reads_every_variable_the_slot_provides(run_stack):
    run = run_stack("dev")
    import json

    (definition,) = json.loads(run.named("slot-blue-task")["containerDefinitions"])
    provided = {e["name"] for e in definition["environment"]} | {
        s["name"] for s in definition["secrets"]
    }
    runtime = read("config/runtime.exs") + read("rel/env.sh.eex")
    read_by_app = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', runtime)) | set(
        re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", runtime)
    )
    # Read by the release scripts or the BEAM itself rather than by our files:
    consumed_by_release = {
        "RELEASE_NAME",
        "RELEASE_DISTRIBUTION",
        "RELEASE_COOKIE",
        "ERL_AFLAGS",
        "PUBSUB_ADAPTER",
    }
    missing = provided - read_by_app - consumed_by_release
    assert not missing, f"variables the app never reads: {sorted(missing)}"


def test_node_name_comes_from_the_task_metadata_ip():
    script = read("rel/env.sh.eex")
    assert "ECS_CONTAINER_METADATA_URI_V4" in script
    assert 'export RELEASE_NODE="<%= @release.name %>@${TASK_IP}"' in script


def test_check_origin_uses_phx_host():
    assert 'check_origin: ["https://#{host}"]' in read("config/runtime.exs")
    assert 'host = System.fetch_env!("PHX_HOST")' in read("config/runtime.exs")


def test_redis_pubsub_is_used_when_redis_url_is_set():
    runtime = read("config/runtime.exs")
    assert 'System.get_env("REDIS_URL")' in runtime and "Phoenix.PubSub.Redis" in runtime


def test_socket_drain_fits_inside_the_stop_timeout():
    endpoint = read("lib/shop_web/endpoint.ex")
    shutdowns = [int(ms.replace("_", "")) for ms in re.findall(r"shutdown: ([\d_]+)", endpoint)]
    assert shutdowns and all(ms < FARGATE_MAX_STOP_TIMEOUT * 1000 for ms in shutdowns)


def test_health_route_matches_the_load_balancer_default():
    default_path = EdgeSettings(plain_http_only=True).health_check.path
    assert f'request_path: "{default_path}"' in read("lib/shop_web/controllers/health_plug.ex")


def test_migration_module_matches_the_default_command():
    from tests_support import load_settings_with_edge

    command = load_settings_with_edge({}).app.migration_command
    assert command == 'bin/shop eval "Shop.Release.migrate()"'
    assert "defmodule Shop.Release do" in read("lib/shop/release.ex")
    assert "def migrate do" in read("lib/shop/release.ex")
