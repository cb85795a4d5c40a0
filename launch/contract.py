"""What phoenix-aws needs in an app (docs/app-contract.md), taken from one source: the example
app, `examples/phoenix_app` (`shop`, `Shop`, `ShopWeb`), renamed for the app being launched.
The suite checks that example with the real Elixir toolchain; launch copies from it, so the two
cannot drift apart.

Three kinds of change, none of them a silent overwrite of the app's code:
- new files (the release module, health, drain, metrics, shutdown, rel/env.sh.eex, a
  Dockerfile), written only where the app has no file of that name;
- blocks between `phoenix-aws: begin` and `phoenix-aws: end` markers, added to config files,
  mix.exs and the endpoint; a second run finds them and changes nothing;
- one marked line in a generated `config/runtime.exs`: its production part steps aside on a
  phoenix-aws task (PHOENIX_AWS_STACK is set), where the marked block configures production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from launch.app import App

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "phoenix_app"
BEGIN = "phoenix-aws: begin (python -m launch)"
END = "phoenix-aws: end"

# Files of the example that are the contract, not the example's own features.
CONTRACT_FILES = [
    "lib/shop/env.ex",
    "lib/shop/health.ex",
    "lib/shop/shutdown.ex",
    "lib/shop/drain/*.ex",
    "lib/shop/metrics/*.ex",
    "lib/shop_web/health_plug.ex",
    "priv/static/js/phoenix_aws_reconnect.js",
    "test/shop/env_test.exs",
    "test/shop/health_test.exs",
    "test/shop/shutdown_test.exs",
    "test/shop/drain/*_test.exs",
    "test/shop/metrics/*_test.exs",
]
ECTO_FILES = [
    "lib/shop/repo/iam_auth.ex",
    "lib/shop/release/app_role.ex",
    "test/shop/repo/iam_auth_test.exs",
    "test/shop/release/app_role_test.exs",
]
RELEASE_FILE = "lib/shop/release.ex"
DOCKER_FILES = ["Dockerfile", ".dockerignore"]
ENV_SH = "rel/env.sh.eex"
# Dependencies the contract's modules call, with the example's requirements.
CONTRACT_DEPS = ["dns_cluster", "phoenix_pubsub_redis", "ex_aws", "ex_aws_rds", "req"]
ECTO_ONLY_DEPS = {"ex_aws_rds"}


@dataclass(frozen=True)
class Renamer:
    """The example's names → the app's."""

    otp_app: str
    module: str
    web_module: str
    web_folder: str

    @classmethod
    def for_app(cls, app: App) -> Renamer:
        return cls(app.otp_app, app.module, app.web_module, app.web_lib.name)

    def text(self, text: str) -> str:
        text = re.sub(r"\bShopWeb\b", self.web_module, text)
        text = re.sub(r"\bShop\b", self.module, text)
        text = re.sub(r"\bshop_web\b", self.web_folder, text)
        return re.sub(r"\bshop\b", self.otp_app, text)

    def path(self, relative: str) -> str:
        parts = relative.split("/")
        renamed = [
            self.web_folder if p == "shop_web" else self.otp_app if p == "shop" else p
            for p in parts
        ]
        return "/".join(renamed)


def example_files(patterns: list[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found += sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.glob(pattern))
    return found


def new_files(app: App) -> dict[str, str]:
    """Path in the app → text, for every contract file the app should have."""
    rename = Renamer.for_app(app)
    wanted = example_files(CONTRACT_FILES)
    if app.ecto:
        wanted += example_files(ECTO_FILES)
        if app.release_file is None:
            wanted.append(RELEASE_FILE)
    if not app.has_dockerfile:
        wanted += DOCKER_FILES
    if not app.has_env_sh:
        wanted.append(ENV_SH)
    files = {rename.path(p): rename.text((EXAMPLE / p).read_text()) for p in wanted}
    if not app.has_dockerfile and (app.root / "assets").is_dir():
        files["Dockerfile"] = with_assets_step(files["Dockerfile"])
    return files


def with_assets_step(dockerfile: str) -> str:
    """The example builds without assets; an app with an assets/ folder (esbuild, tailwind)
    builds them before compiling, as Phoenix's own release Dockerfile does."""
    step = (
        "COPY priv priv\nCOPY lib lib\n"
        "# The app's assets (esbuild/tailwind), digested into priv/static.\n"
        "COPY assets assets\nRUN mix assets.deploy\n"
    )
    return dockerfile.replace("COPY priv priv\nCOPY lib lib\n", step, 1)


def block(body: str, comment: str = "#") -> str:
    """`body` between the markers, as `comment`-style lines."""
    return f"{comment} {BEGIN}\n{body.rstrip()}\n{comment} {END}\n"


def has_block(text: str) -> bool:
    return BEGIN in text


def example_prod_runtime(rename: Renamer) -> str:
    """The example runtime.exs's `if config_env() == :prod do ... end`: every value from the
    task environment phoenix-aws gives."""
    text = (EXAMPLE / "config" / "runtime.exs").read_text()
    start = text.index("if config_env() == :prod do")
    body = text[start:]
    end = body.rindex("\nend")
    return rename.text(body[: end + len("\nend")])


def example_ex_aws_config(rename: Renamer) -> str:
    text = (EXAMPLE / "config" / "config.exs").read_text()
    start = text.index("config :ex_aws,")
    end = text.index("\n\n", start)
    comment_start = text.rindex("\n\n", 0, start) + 2
    return rename.text(text[comment_start:end])


def example_deps(app: App) -> list[str]:
    """The example's dep tuples the app lacks, as written in the example's mix.exs."""
    text = (EXAMPLE / "mix.exs").read_text()
    lines = []
    for dep in CONTRACT_DEPS:
        if dep in app.deps or (dep in ECTO_ONLY_DEPS and not app.ecto):
            continue
        match = re.search(r"\{:" + dep + r",[^}]*\}", text)
        if match:
            lines.append(match.group(0))
    return lines


HEALTH_PLUG_COMMENT = (
    "# The load balancer's health check and the release smoke test, before everything else."
)
PROD_GUARD = 'if config_env() == :prod and System.get_env("PHOENIX_AWS_STACK") == nil do'
PROD_GUARD_NOTE = "# phoenix-aws: on AWS the marked block at the end configures production"


def example_application_helpers(rename: Renamer) -> str:
    """The example Application's private functions that start the drain and the metric after
    the endpoint (drain/0, its stops/1, metrics/0), renamed."""
    text = (EXAMPLE / "lib" / "shop" / "application.ex").read_text()
    start = text.index("  # After the endpoint, so they stop first at shutdown.")
    end = text.rindex("\nend")
    return rename.text(text[start:end].rstrip())
