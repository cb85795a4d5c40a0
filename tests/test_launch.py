"""`python -m launch PATH`: a Phoenix app of one of several real layouts gets the contract's files
and marked blocks, a stack file the program accepts, and the next command; a second run changes
nothing; nothing of the app's is overwritten; the real Elixir toolchain parses every file of the
launched app and evaluates its config/runtime.exs under a phoenix-aws task's environment.

The layouts are fixtures we wrote in the shape Phoenix 1.7's generator gives
(tests/fixtures/phoenix_apps): `mix phx.new shop` (Ecto, LiveView, assets), `--no-ecto
--no-live` with a channel socket, an app with its own Dockerfile, and an umbrella. One launch per
layout (module-scoped), one Elixir run per launched layout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from elixir import toolchain

from launch.__main__ import main
from launch.contract import BEGIN, EXAMPLE, Renamer
from offline.mocks import ROOT
from stacks.settings import check_stack_config

FIXTURES = Path(__file__).with_name("fixtures") / "phoenix_apps"
PURE_FOR_RUNTIME = ["env.ex", "shutdown.ex", "drain/timing.ex"]


@dataclass
class Launched:
    app: Path
    project: Path
    before: dict[str, str]
    code: int = 0
    out: list[str] = field(default_factory=list)
    second_code: int = 0
    second_out: list[str] = field(default_factory=list)
    after_first: dict[str, str] = field(default_factory=dict)

    def files(self) -> dict[str, str]:
        return snapshot(self.app)


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def launch(tmp_path_factory, layout: str, *extra: str) -> Launched:
    base = tmp_path_factory.mktemp(layout)
    app = base / layout
    shutil.copytree(FIXTURES / layout, app)
    project = base / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project)
    result = Launched(app, project, snapshot(app))
    result.code = main([str(app), *extra], project, result.out.append)
    result.after_first = {**snapshot(app), **snapshot(project)}
    result.second_code = main([str(app), *extra], project, result.second_out.append)
    return result


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Launched:
    return launch(tmp_path_factory, "plain")


@pytest.fixture(scope="module")
def blog(tmp_path_factory) -> Launched:
    return launch(tmp_path_factory, "blog", "--stack", "blog-dev")


@pytest.fixture(scope="module")
def own_dockerfile(tmp_path_factory) -> Launched:
    return launch(tmp_path_factory, "own_dockerfile")


def elixir_check(launched: Launched, otp_app: str, web_module: str) -> list[str]:
    """tests/elixir/launched.exs on the launched app, under the dev stack's blue service task."""
    elixir = toolchain.require("elixir")
    task = next(t for t in toolchain.service_tasks("dev") if t.slot == "blue")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(launched.app), **task.environment}
    modules = [f"lib/{otp_app}/{m}" for m in PURE_FOR_RUNTIME]
    script = Path(__file__).parent / "elixir" / "launched.exs"
    result = subprocess.run(
        [elixir, str(script), str(launched.app), otp_app, web_module, *modules],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def plain_elixir(plain) -> list[str]:
    return elixir_check(plain, "shop", "ShopWeb")


@pytest.fixture(scope="module")
def blog_elixir(blog) -> list[str]:
    return elixir_check(blog, "blog", "BlogWeb")


def config_line(lines: list[str], key: str) -> str:
    (line,) = [line for line in lines if line.startswith(f"config {key} ")]
    return line.split(" ", 2)[2]


# --- what it writes ---------------------------------------------------------------------------


def test_it_reports_what_it_found_and_the_next_command(plain):
    assert plain.code == 0, plain.out
    assert "  database: Ecto, Shop.Repo" in plain.out
    assert "  sockets: /live (Phoenix.LiveView.Socket)" in plain.out
    assert plain.out[-1] == (
        "next: python -m cost shop   (what it costs), then "
        "pulumi stack init shop && pulumi up --stack shop"
    )


def test_the_contract_files_come_from_the_example_renamed(plain, blog):
    files = plain.files()
    for relative in ["lib/shop/drain/shedder.ex", "lib/shop_web/health_plug.ex", "rel/env.sh.eex"]:
        assert files[relative] == (EXAMPLE / relative).read_text()  # `shop` renames to itself
    rename = Renamer("blog", "Blog", "BlogWeb", "blog_web")
    shedder = (EXAMPLE / "lib/shop/drain/shedder.ex").read_text()
    assert blog.files()["lib/blog/drain/shedder.ex"] == rename.text(shedder)
    assert "Shop" not in blog.files()["lib/blog/drain/shedder.ex"]
    assert "lib/blog/release/app_role.ex" not in blog.files()  # no Ecto: no database role


def test_the_dockerfile_builds_the_apps_assets_and_release(plain):
    dockerfile = plain.files()["Dockerfile"]
    assert "COPY assets assets\nRUN mix assets.deploy\n" in dockerfile
    assert 'CMD ["/app/bin/shop", "start"]' in dockerfile
    assert "USER 1000:1000" in dockerfile


def test_edits_are_marked_blocks_and_the_apps_code_stays(plain):
    files = plain.files()
    for relative in [
        "config/runtime.exs",
        "config/config.exs",
        "mix.exs",
        "lib/shop_web/endpoint.ex",
    ]:
        assert BEGIN in files[relative], relative
        before = plain.before[relative].splitlines()
        after = files[relative].splitlines()
        # every line of the app's is still there, in order, except the one guarded prod line
        kept = [line for line in before if line in after]
        assert len(before) - len(kept) <= 1, relative
    assert files["mix.exs"].count("{:ex_aws, ") == 1 and "{:dns_cluster, " in files["mix.exs"]
    assert files["mix.exs"].count("{:dns_cluster,") == 1  # already there: not added twice


def test_the_stack_file_is_accepted_by_the_program(plain, blog):
    for launched, name, migrations in ((plain, "shop", True), (blog, "blog-dev", False)):
        text = (launched.project / "stacks" / f"Pulumi.{name}.yaml").read_text()
        config = yaml.safe_load(text)["config"]
        settings = check_stack_config(config)
        assert settings.app.name == launched.app.name.replace("plain", "shop")
        assert settings.app.enable_migrations is migrations
        assert Path(config["phoenix-aws:image"]["context"]) == launched.app


def test_a_second_run_changes_nothing(plain, blog, own_dockerfile):
    for launched in (plain, blog, own_dockerfile):
        assert launched.second_code == 0
        assert {**launched.files(), **snapshot(launched.project)} == launched.after_first
        assert any(line.startswith("nothing to change") for line in launched.second_out)


def test_dry_run_shows_the_changes_and_writes_nothing(tmp_path):
    app = tmp_path / "plain"
    shutil.copytree(FIXTURES / "plain", app)
    (tmp_path / "stacks").mkdir()
    before = snapshot(tmp_path)
    out: list[str] = []
    assert main([str(app), "--dry-run"], tmp_path, out.append) == 0
    assert snapshot(tmp_path) == before
    text = "\n".join(out)
    assert "new file lib/shop/drain/shedder.ex" in text
    assert '+if config_env() == :prod and System.get_env("PHOENIX_AWS_STACK") == nil do' in text
    assert out[-1].strip().startswith("--dry-run: nothing written (")


def test_an_apps_own_dockerfile_is_kept_and_checked(own_dockerfile):
    assert own_dockerfile.files()["Dockerfile"] == own_dockerfile.before["Dockerfile"]
    todo = "\n".join(own_dockerfile.out)
    assert "Dockerfile is not multi-stage (one FROM)" in todo
    assert "Dockerfile runs as root (no USER)" in todo
    assert ".dockerignore" not in own_dockerfile.files()


def test_an_app_file_that_differs_is_never_overwritten(tmp_path):
    app = tmp_path / "plain"
    shutil.copytree(FIXTURES / "plain", app)
    (app / "lib/shop").mkdir(exist_ok=True)
    (app / "lib/shop/health.ex").write_text("defmodule Shop.Health do\nend\n")
    (tmp_path / "stacks").mkdir()
    out: list[str] = []
    assert main([str(app)], tmp_path, out.append) == 0
    assert (app / "lib/shop/health.ex").read_text() == "defmodule Shop.Health do\nend\n"
    assert any(line.startswith("kept: lib/shop/health.ex:") for line in out)


def test_an_umbrella_or_a_non_phoenix_folder_is_one_line(tmp_path, capsys):
    assert main([str(FIXTURES / "umbrella")], tmp_path, print) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "is an umbrella project" in line
    assert main([str(tmp_path)], tmp_path, print) == 2
    assert "no mix.exs here" in capsys.readouterr().err


# --- the real Elixir toolchain --------------------------------------------------------------


def test_every_file_of_the_launched_apps_parses(plain_elixir, blog_elixir):
    assert [line for line in plain_elixir + blog_elixir if line.startswith("parse-error")] == []


def test_runtime_config_evaluates_under_the_stacks_task_environment(plain_elixir):
    assert not [line for line in plain_elixir if line.startswith("runtime-error")], plain_elixir
    task = next(t for t in toolchain.service_tasks("dev") if t.slot == "blue")
    host = task.environment["PHX_HOST"]
    assert config_line(plain_elixir, "url") == f'[scheme: "http", host: "{host}", port: 80]'
    assert config_line(plain_elixir, "check_origin") == f'["http://{host}"]'
    assert config_line(plain_elixir, "server") == "true"
    assert (
        config_line(plain_elixir, "drain_parameter") == f'"{task.environment["DRAIN_PARAMETER"]}"'
    )
    assert config_line(plain_elixir, "repo_keys") == "[Shop.Repo]"


def test_the_generated_prod_config_steps_aside_only_on_phoenix_aws(plain):
    """Without PHOENIX_AWS_STACK (another host), the app's own prod config still applies."""
    runtime = plain.files()["config/runtime.exs"]
    assert 'System.get_env("DATABASE_URL")' in runtime  # kept, behind the guard
    assert runtime.count('System.get_env("PHOENIX_AWS_STACK") == nil') == 1


def test_a_channel_app_without_ecto_evaluates_too(blog_elixir):
    assert not [line for line in blog_elixir if line.startswith("runtime-error")], blog_elixir
    assert config_line(blog_elixir, "pubsub") == "[]"


def test_the_application_starts_the_drain_as_the_example_does(plain, blog):
    application = plain.files()["lib/shop/application.ex"]
    children = application.split("children = [", 1)[1].split("opts = ", 1)[0]
    assert children.index("Shop.Drain.Sockets,") < children.index("ShopWeb.Endpoint")
    assert "[name: Shop.PubSub] ++ Application.get_env(:shop, :pubsub, [])" in children
    assert "children = children ++ drain() ++ metrics()" in application
    example = (EXAMPLE / "lib/shop/application.ex").read_text()
    helpers = example[example.index("  # After the endpoint") : example.rindex("\nend")].rstrip()
    assert helpers in application  # the example's drain/0, stops/1 and metrics/0, as they are
    assert "Blog.Drain.Shedder" in blog.files()["lib/blog/application.ex"]
    assert not any("application.ex: in the children" in line for line in plain.out)
