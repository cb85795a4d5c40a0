"""What `python -m launch` reads from a Phoenix app before it changes anything.

Read with plain text rules, not by running Mix (the app's dependencies are usually not fetched on
the machine that launches it): the `mix.exs` project keyword list (`app:`, `elixir:`,
`apps_path:`, the deps' names), the endpoint module (`use Phoenix.Endpoint, otp_app: ...`) and
its `socket` lines, the Repo (`use Ecto.Repo`), config/runtime.exs, the Dockerfile and rel/.
What these rules cannot read is reported as not found, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


class AppError(ValueError):
    """The path is not a Phoenix app launch can read; the message says what is missing."""


@dataclass(frozen=True)
class Socket:
    path: str
    module: str


@dataclass(frozen=True)
class App:
    """A Phoenix app as launch sees it. Paths are relative to `root`."""

    root: Path
    otp_app: str
    """The OTP application (and release) name, `:shop` → `shop`."""
    module: str
    """The app's namespace, e.g. `Shop` (from the application module `Shop.Application`)."""
    web_module: str
    """The web namespace, e.g. `ShopWeb` (the endpoint module without `.Endpoint`)."""
    elixir: str | None
    deps: tuple[str, ...]
    endpoint_file: Path
    application_file: Path | None
    repo_module: str | None
    sockets: tuple[Socket, ...] = ()
    umbrella: bool = False
    has_dockerfile: bool = False
    has_env_sh: bool = False
    release_file: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ecto(self) -> bool:
        return self.repo_module is not None

    @property
    def live_view(self) -> bool:
        return "phoenix_live_view" in self.deps

    @property
    def lib(self) -> Path:
        """The folder of the app's own modules (`lib/shop`)."""
        return Path("lib") / self.otp_app

    @property
    def web_lib(self) -> Path:
        return self.endpoint_file.parent


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AppError(f"{path}: cannot read it ({exc.strerror})") from None


def _module_of(text: str) -> str | None:
    match = re.search(r"^\s*defmodule\s+([A-Z][\w.]*)\s+do", text, re.MULTILINE)
    return match.group(1) if match else None


def _find(root: Path, pattern: str, contains: str) -> list[Path]:
    return sorted(
        path
        for path in root.glob(pattern)
        if "/deps/" not in path.as_posix() and contains in path.read_text(errors="replace")
    )


def read_app(root: Path) -> App:
    """Read the Phoenix app at `root`, or AppError saying why it is not one launch can read."""
    root = root.resolve()
    mix = root / "mix.exs"
    if not mix.is_file():
        raise AppError(f"{root}: no mix.exs here; give the folder of a Phoenix app")
    project = _read(mix)
    umbrella = re.search(r"\bapps_path:\s*\"", project) is not None
    if umbrella:
        raise AppError(
            f"{root} is an umbrella project (apps_path in mix.exs): launch reads one app; "
            "run it on the umbrella's web app is not supported yet. Add the files of "
            "docs/app-contract.md to the app that holds the endpoint by hand"
        )
    app_match = re.search(r"\bapp:\s*:(\w+)", project)
    if not app_match:
        raise AppError(f"{mix}: no `app: :name` in the project keyword list")
    otp_app = app_match.group(1)
    elixir = re.search(r"\belixir:\s*\"([^\"]+)\"", project)
    deps = tuple(dict.fromkeys(re.findall(r"\{:(\w+)\s*,", project)))
    if "phoenix" not in deps:
        raise AppError(f"{mix}: `:phoenix` is not among the deps; is this a Phoenix app?")

    endpoints = _find(root, "lib/**/*.ex", "use Phoenix.Endpoint")
    if len(endpoints) != 1:
        raise AppError(
            f"{root}: expected one endpoint module (`use Phoenix.Endpoint`) under lib/, "
            f"found {len(endpoints)}"
        )
    endpoint_text = _read(endpoints[0])
    endpoint_module = _module_of(endpoint_text) or ""
    if not endpoint_module.endswith(".Endpoint"):
        raise AppError(f"{endpoints[0]}: the endpoint module is not named <Web>.Endpoint")
    web_module = endpoint_module.removesuffix(".Endpoint")

    application = re.search(r"mod:\s*\{([A-Z][\w.]*)\.Application\s*,", project)
    module = application.group(1) if application else web_module.removesuffix("Web")
    application_files = _find(root, "lib/**/application.ex", "use Application")
    repos = _find(root, "lib/**/*.ex", "use Ecto.Repo")
    repo_module = _module_of(_read(repos[0])) if repos else None
    sockets = tuple(
        Socket(path, mod)
        for path, mod in re.findall(
            r"^\s*socket\s+\"([^\"]+)\"\s*,\s*([A-Z][\w.]*)", endpoint_text, re.MULTILINE
        )
        if "LiveReloader" not in mod
    )
    releases = _find(root, "lib/**/release.ex", "def migrate")
    return App(
        root=root,
        otp_app=otp_app,
        module=module,
        web_module=web_module,
        elixir=elixir.group(1) if elixir else None,
        deps=deps,
        endpoint_file=endpoints[0].relative_to(root),
        application_file=application_files[0].relative_to(root) if application_files else None,
        repo_module=repo_module,
        sockets=sockets,
        umbrella=umbrella,
        has_dockerfile=(root / "Dockerfile").is_file(),
        has_env_sh=(root / "rel" / "env.sh.eex").is_file(),
        release_file=releases[0].relative_to(root) if releases else None,
    )


def describe(app: App) -> list[str]:
    """What launch found, one line each."""
    lines = [
        f"app: {app.otp_app} ({app.module}, web {app.web_module}), Elixir {app.elixir or '?'}",
        f"endpoint: {app.endpoint_file}",
        "database: " + (f"Ecto, {app.repo_module}" if app.ecto else "none (no Ecto repo)"),
        "LiveView: " + ("yes" if app.live_view else "no"),
        "sockets: "
        + (", ".join(f"{s.path} ({s.module})" for s in app.sockets) or "none (no WebSockets)"),
        "Dockerfile: "
        + ("the app's own (checked, not replaced)" if app.has_dockerfile else "none"),
        "rel/env.sh.eex: " + ("the app's own (checked)" if app.has_env_sh else "none"),
    ]
    present = [d for d in ("dns_cluster", "phoenix_pubsub_redis", "ex_aws") if d in app.deps]
    lines.append("deps of the contract already there: " + (", ".join(present) or "none"))
    return lines
