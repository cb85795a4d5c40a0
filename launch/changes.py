"""The changes launch makes to an app and to this checkout's stacks/, planned before any is
written: each with the text before and after, so they can be shown as a diff (`--dry-run` stops
there) and a second run finds nothing left to do."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from launch import contract
from launch.app import App
from launch.contract import Renamer, block, has_block


@dataclass(frozen=True)
class Change:
    """One file: its text now (None: it does not exist) and after launch."""

    path: Path
    before: str | None
    after: str
    why: str

    def diff(self, root: Path) -> str:
        name = self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
        return "".join(
            difflib.unified_diff(
                (self.before or "").splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{name}" if self.before is not None else "/dev/null",
                tofile=f"b/{name}",
            )
        )


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Files of the app launch leaves as they are although they differ from the contract."""
    todo: list[str] = field(default_factory=list)
    """What launch cannot write safely, said exactly for the user to do."""

    def add(self, path: Path, before: str | None, after: str, why: str) -> None:
        if before != after:
            self.changes.append(Change(path, before, after, why))


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def plan_app(app: App) -> Plan:
    plan = Plan()
    rename = Renamer.for_app(app)
    for relative, text in contract.new_files(app).items():
        path = app.root / relative
        before = _text(path)
        if before is None:
            plan.add(path, None, text, "the contract's, from examples/phoenix_app")
        elif before != text:
            plan.kept.append(f"{relative}: the app's own file differs from the contract's; kept")
    _runtime(app, rename, plan)
    _config(app, rename, plan)
    _deps(app, plan)
    _endpoint(app, rename, plan)
    _application(app, rename, plan)
    _todo(app, rename, plan)
    return plan


def _runtime(app: App, rename: Renamer, plan: Plan) -> None:
    path = app.root / "config" / "runtime.exs"
    before = _text(path)
    if before is not None and has_block(before):
        return
    after = before if before is not None else "import Config\n"
    generated = re.search(r"^if config_env\(\) == :prod do$", after, re.MULTILINE)
    if generated:
        after = (
            after[: generated.start()]
            + f"{contract.PROD_GUARD_NOTE}\n{contract.PROD_GUARD}"
            + after[generated.end() :]
        )
    after = after.rstrip("\n") + "\n\n" + block(contract.example_prod_runtime(rename))
    plan.add(path, before, after, "production config from the task environment")


def _config(app: App, rename: Renamer, plan: Plan) -> None:
    path = app.root / "config" / "config.exs"
    before = _text(path)
    if before is None or has_block(before):
        return
    after = before.rstrip("\n") + "\n\n" + block(contract.example_ex_aws_config(rename))
    plan.add(path, before, after, "ExAws: task-role credentials")


def _deps(app: App, plan: Plan) -> None:
    missing = contract.example_deps(app)
    path = app.root / "mix.exs"
    before = _text(path) or ""
    if not missing or has_block(before):
        return
    match = re.search(r"defp deps do\n(\s*)\[\n", before)
    if not match:
        plan.todo.append("mix.exs: add to deps: " + ", ".join(missing))
        return
    indent = match.group(1) + "  "
    lines = "\n".join(f"{indent}{dep}," for dep in missing)
    inserted = f"{indent}# {contract.BEGIN}\n{lines}\n{indent}# {contract.END}\n"
    after = before[: match.end()] + inserted + before[match.end() :]
    plan.add(path, before, after, "the contract's dependencies")


def _endpoint(app: App, rename: Renamer, plan: Plan) -> None:
    path = app.root / app.endpoint_file
    before = _text(path) or ""
    if has_block(before):
        return
    match = re.search(r"^(\s*)use Phoenix\.Endpoint, otp_app: :\w+\n", before, re.MULTILINE)
    if not match:
        plan.todo.append(f"{app.endpoint_file}: plug {app.web_module}.HealthPlug first")
        return
    indent = match.group(1)
    body = f"{indent}{contract.HEALTH_PLUG_COMMENT}\n{indent}plug {app.web_module}.HealthPlug"
    marked = "\n" + block(body, f"{indent}#")
    after = before[: match.end()] + marked + before[match.end() :]
    plan.add(path, before, after, "the health endpoint, first")


def _marked_lines(indent: str, *lines: str) -> str:
    body = "".join(f"{indent}{line}\n" for line in lines)
    return f"{indent}# {contract.BEGIN}\n{body}{indent}# {contract.END}\n"


def _application(app: App, rename: Renamer, plan: Plan) -> None:
    """The children the contract needs, as the example starts them: the PubSub adapter
    runtime.exs chooses, the socket registry before the endpoint, the drain and the metric after
    it. Only in the generated shape (every anchor found); otherwise it is a to-do."""
    if app.application_file is None:
        return
    path = app.root / app.application_file
    before = _text(path) or ""
    if has_block(before):
        return
    module, web = app.module, app.web_module
    pubsub = re.search(
        rf"^(\s*)\{{Phoenix\.PubSub, name: {re.escape(module)}\.PubSub\}},\n", before, re.M
    )
    endpoint = re.search(rf"^(\s*){re.escape(web)}\.Endpoint\n", before, re.M)
    start = re.search(r"^(\s*)Supervisor\.start_link\(children,", before, re.M)
    last_end = before.rstrip().rfind("\nend")
    if not (pubsub and endpoint and start and last_end > 0) or pubsub.start() > endpoint.start():
        return  # _todo says what to do by hand
    pieces = [
        (
            pubsub.start(),
            pubsub.end(),
            _marked_lines(
                pubsub.group(1),
                "# The adapter config/runtime.exs chooses (PUBSUB_ADAPTER: erlang or redis).",
                f"{{Phoenix.PubSub, [name: {module}.PubSub] ++ "
                f"Application.get_env(:{app.otp_app}, :pubsub, [])}},",
            ),
        ),
        (
            endpoint.start(),
            endpoint.start(),
            _marked_lines(
                endpoint.group(1),
                "# Before the endpoint: sockets register here when they connect (the drain).",
                f"{module}.Drain.Sockets,",
            ),
        ),
        (
            start.start(),
            start.start(),
            _marked_lines(start.group(1), "children = children ++ drain() ++ metrics()"),
        ),
        (
            last_end + 1,
            last_end + 1,
            "\n" + block(contract.example_application_helpers(rename), "  #"),
        ),
    ]
    after = before
    for begin, end, text in sorted(pieces, reverse=True):
        after = after[:begin] + text + after[end:]
    plan.add(path, before, after, "the drain's children, as examples/phoenix_app starts them")


def _todo(app: App, rename: Renamer, plan: Plan) -> None:
    """The wiring launch does not edit in the app's own modules, said exactly."""
    module = app.module
    application = _text(app.root / app.application_file) if app.application_file else None
    planned = any(c.path == app.root / str(app.application_file) for c in plan.changes)
    if application is not None and not planned and f"{module}.Drain.Sockets" not in application:
        plan.todo.append(
            f"{app.application_file}: in the children, start {module}.Drain.Sockets before "
            f"{app.web_module}.Endpoint, give Phoenix.PubSub the adapter runtime.exs chooses "
            f"({{Phoenix.PubSub, [name: {module}.PubSub] ++ "
            f"Application.get_env(:{app.otp_app}, :pubsub, [])}}), and after the endpoint the "
            f"drain shedder and the socket metric as examples/phoenix_app/lib/shop/application.ex "
            "does (drain/0, metrics/0)"
        )
    for socket in app.sockets:
        if socket.module == "Phoenix.LiveView.Socket":
            plan.todo.append(
                f'{app.endpoint_file}: socket "{socket.path}": mount a socket module of your own '
                f"(`use Phoenix.LiveView.Socket`) whose connect/3 calls "
                f"`if socket.transport == :websocket, do: {module}.Drain.Sockets.register()`, "
                f"with `longpoll: false, drainer: {{{module}.Shutdown, :socket_drainer, []}}`"
            )
        else:
            plan.todo.append(
                f"{socket.module}.connect/3: call "
                f"`if socket.transport == :websocket, do: {module}.Drain.Sockets.register()`"
            )
    release = _text(app.root / app.release_file) if app.release_file else None
    if release is not None and app.ecto and "AppRole" not in release:
        plan.todo.append(
            f"{app.release_file}: migrate/0 ensures the app's database role first: "
            f"{module}.Release.AppRole (see examples/phoenix_app/lib/shop/release.ex)"
        )
    if app.has_dockerfile:
        text = (app.root / "Dockerfile").read_text(errors="replace")
        for problem, fine in (
            ("is not multi-stage (one FROM)", len(re.findall(r"^FROM ", text, re.MULTILINE)) > 1),
            ("does not run `mix release`", "mix release" in text),
            ("runs as root (no USER)", re.search(r"^USER ", text, re.MULTILINE) is not None),
            (
                "lacks AWS's RDS CA bundle (rds-global-bundle.pem) for the database's TLS",
                "rds-global-bundle.pem" in text or not app.ecto,
            ),
        ):
            if not fine:
                plan.todo.append(f"Dockerfile {problem}: see examples/phoenix_app/Dockerfile")


def write(plan: Plan) -> None:
    for change in plan.changes:
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.after, encoding="utf-8")
