"""examples/phoenix_app as files: the Dockerfile builds from what exists, every module the code
names exists, mix.exs lists what the code uses, and the app agrees with what the infrastructure
of each shipped stack sets up (release name, user, port, health check, stop timeout)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from elixir import toolchain
from tests_support import load_settings_with_edge

from stacks.settings import EdgeSettings

APP = toolchain.APP
STACKS = toolchain.stacks()
ELIXIR_SOURCES = ["lib", "config", "priv", "test"]


def read(path: str) -> str:
    return (APP / path).read_text()


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", read("Dockerfile"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def copies_from_context() -> list[list[str]]:
    """The sources of every COPY that reads the build context (not another stage)."""
    return [
        [s for s in args.split()[:-1] if not s.startswith("--")]
        for instruction, args in dockerfile_instructions()
        if instruction == "COPY" and "--from=" not in args
    ]


def dockerignore_patterns() -> list[str]:
    return [
        line.strip().rstrip("/")
        for line in read(".dockerignore").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_every_copy_source_exists_in_the_build_context_or_is_optional():
    for sources in copies_from_context():
        for source in sources:
            if any(c in source for c in "*?["):
                continue  # a wildcard copies what exists, and nothing when nothing matches
            assert (APP / source).exists(), f"COPY {source}: not in examples/phoenix_app"
        assert any(list(APP.glob(s)) for s in sources), f"COPY {sources}: nothing to copy"


def test_the_build_context_keeps_what_the_dockerfile_copies():
    ignored = dockerignore_patterns()
    for sources in copies_from_context():
        for source in sources:
            top = source.split("/")[0]
            assert top not in ignored, f".dockerignore drops {source}, which COPY needs"


def test_mix_lock_is_optional():
    """No lock file can be made without Hex access: the build must work with and without it."""
    lock_copies = [s for sources in copies_from_context() for s in sources if "mix.lo" in s]
    assert lock_copies and all(any(c in s for c in "*?[") for s in lock_copies)
    if not (APP / "mix.lock").exists():
        assert "mix deps.get" in read("Dockerfile")


def test_there_is_no_asset_pipeline_to_build():
    """Assets are explicitly absent: the page's only script is the Phoenix client that the
    phoenix package ships in its priv/static, served by the endpoint."""
    steps = " ".join(args for _, args in dockerfile_instructions())
    assert "assets" not in steps and not (APP / "assets").exists()
    mix = read("mix.exs")
    assert not re.search(r"\{:(esbuild|tailwind)", mix)
    assert 'src="/vendor/phoenix/phoenix.min.js"' in read(
        "lib/shop_web/controllers/page_controller.ex"
    )
    endpoint = read("lib/shop_web/endpoint.ex")
    static = re.search(r"plug Plug\.Static,([^\n]*\n)+?\n", endpoint)
    assert static, "the endpoint serves no static files"
    options = re.sub(r"\s+", " ", static.group(0))
    assert (
        'at: "/vendor/phoenix", from: {:phoenix, "priv/static"}, only: ~w(phoenix.min.js)'
        in options
    )


def test_the_release_is_named_after_the_app_everywhere():
    mix = read("mix.exs")
    (app,) = re.findall(r"app: :(\w+)", mix)
    assert re.search(rf"releases: \[{app}: ", mix)
    instructions = dockerfile_instructions()
    assert any(i == "COPY" and f"/app/_build/prod/rel/{app} " in a for i, a in instructions)
    assert ("CMD", f'["/app/bin/{app}", "start"]') in instructions
    for stack in STACKS:
        assert toolchain.stack_run(stack).named("slot-blue-task") is not None
        for task in toolchain.service_tasks(stack):
            assert task.container["name"] == app and task.plain["RELEASE_NAME"] == app


def test_the_migration_command_calls_the_release_module():
    command = load_settings_with_edge({}).app.migration_command
    assert command == 'bin/shop eval "Shop.Release.migrate()"'
    release = read("lib/shop/release.ex")
    assert "defmodule Shop.Release do" in release
    for function in ("def migrate do", "def rollback(repo, version) do", "def seed do"):
        assert function in release
    assert 'Application.app_dir(@app, "priv/repo/seeds.exs")' in release
    assert (APP / "priv/repo/seeds.exs").exists()


def test_there_is_a_real_migration():
    migrations = sorted((APP / "priv/repo/migrations").glob("[0-9]*.exs"))
    assert migrations
    for path in migrations:
        assert re.fullmatch(r"\d{14}_[a-z0-9_]+\.exs", path.name), path.name
        assert "use Ecto.Migration" in path.read_text()


MODULE = re.compile(r"\b(Shop(?:Web)?(?:\.[A-Z]\w*)+)(\.\{([\w\s,]+)\})?")
# Names of processes, not modules.
PROCESS_NAMES = {"Shop.PubSub", "Shop.Supervisor"}
DEFINED = re.compile(r"defmodule\s+([\w.]+)\s+do")


def elixir_files() -> list[Path]:
    return [p for d in ELIXIR_SOURCES for p in (APP / d).rglob("*.ex*")]


def test_every_module_of_the_app_that_the_code_names_exists():
    defined = {m for p in elixir_files() for m in DEFINED.findall(p.read_text())}
    named: dict[str, str] = {}
    for path in elixir_files():
        for base, _, group in MODULE.findall(path.read_text()):
            for module in [f"{base}.{n.strip()}" for n in group.split(",")] if group else [base]:
                named.setdefault(module, str(path.relative_to(APP)))
    # Test modules name the module they test, and Shop.Repo.Migrations is Ecto's namespace.
    missing = {
        m: where
        for m, where in named.items()
        if m not in defined | PROCESS_NAMES
        and not m.endswith("Test")
        and m != "Shop.Repo.Migrations"
    }
    assert missing == {}


# The code's external modules and the Hex package each comes from.
PACKAGES = {
    "Phoenix.LiveView": "phoenix_live_view",
    "Phoenix.PubSub.Redis": "phoenix_pubsub_redis",
    "Phoenix": "phoenix",
    "Plug": "phoenix",
    "Bandit": "bandit",
    "Jason": "jason",
    "Ecto": "ecto_sql",
    "Ecto.Adapters.Postgres": "postgrex",
    "DNSCluster": "dns_cluster",
    "ExAws.RDS": "ex_aws_rds",
    "ExAws.Request.Req": "req",
    "ExAws": "ex_aws",
}
EXTERNAL = re.compile(r"\b(" + "|".join(sorted(map(re.escape, PACKAGES), key=len)[::-1]) + r")\b")


def test_mix_exs_lists_exactly_the_packages_the_code_uses():
    code = "\n".join(p.read_text() for d in ("lib", "config") for p in (APP / d).rglob("*.ex*"))
    used = {PACKAGES[m] for m in EXTERNAL.findall(code)}
    listed = set(re.findall(r"\{:(\w+), \"", read("mix.exs")))
    assert used == listed


def test_health_answers_on_the_path_the_load_balancer_checks():
    plug = read("lib/shop_web/health_plug.ex")
    (path,) = re.findall(r'request_path: "([^"]+)"', plug)
    assert path == EdgeSettings(plain_http_only=True).health_check.path
    for stack in STACKS:
        for group in toolchain.stack_run(stack).of_type("aws:lb/targetGroup:TargetGroup"):
            assert group["healthCheck"]["path"] == path, f"{stack}: {group.name}"
            assert group["healthCheck"]["matcher"] == "200"


@pytest.mark.parametrize("stack", STACKS)
def test_the_image_runs_as_the_tasks_user_and_exposes_its_port(stack):
    instructions = dockerfile_instructions()
    users = [a for i, a in instructions if i == "USER"]
    exposed = [a for i, a in instructions if i == "EXPOSE"]
    for task in toolchain.service_tasks(stack):
        assert users[-1].split(":")[0] == task.container["user"], task.id
        (mapping,) = task.container["portMappings"]
        assert exposed == [str(mapping["containerPort"])], task.id


def test_the_socket_drainer_takes_its_time_from_the_stop_timeout():
    """Its options come from Shop.Shutdown at boot (checked against each stack's stopTimeout in
    tests/test_elixir_runtime_config.py), not from a constant compiled into the endpoint."""
    endpoint = read("lib/shop_web/endpoint.ex")
    assert "drainer: {Shop.Shutdown, :socket_drainer, []}" in endpoint
    assert "def socket_drainer do" in read("lib/shop/shutdown.ex")


def test_the_task_definition_json_is_what_the_checks_read():
    """The checks above and in test_elixir_*.py read the slot task's container definition; it
    is one container (the app)."""
    for stack in STACKS:
        for resource in toolchain.stack_run(stack).of_type(toolchain.TASK_DEFINITION):
            if toolchain.SERVICE_TASK.fullmatch(resource.name):
                assert len(json.loads(resource["containerDefinitions"])) == 1
