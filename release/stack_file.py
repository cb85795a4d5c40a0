"""The stack file (`stacks/Pulumi.<stack>.yaml`), edited the way a person edits it.

The stack file is the source of truth for the release state: the release command changes the
`phoenix-aws:release` section in place and lets `pulumi up` read the file, so what is reviewed,
committed and deployed is one and the same text. ruamel.yaml's round-trip mode keeps comments, key
order, quoting and layout; values are written as YAML (ints stay ints, booleans stay booleans),
never as JSON strings.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from offline.cli import load_yaml, yaml_problem

NAMESPACE = "phoenix-aws"
RELEASE_KEY = f"{NAMESPACE}:release"


class StackFileError(Exception):
    """The stack file is missing or cannot be read as YAML."""


def _yaml() -> YAML:
    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long digest or comment
    # The project's layout: mappings indented by 2, list dashes indented by 2 inside their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def stack_file_name(stack: str) -> str:
    """`org/project/prod` and `prod` both use `Pulumi.prod.yaml` (as the Pulumi CLI does)."""
    return f"Pulumi.{stack.split('/')[-1]}.yaml"


def _plain(node: Any) -> Any:
    """ruamel's commented containers and scalar subclasses → plain dicts, lists, str, int."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _load(text: str, where: str) -> CommentedMap:
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        raise StackFileError(f"{where} is not valid YAML: {exc}") from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise StackFileError(f"{where} must be a YAML mapping with a `config:` key")
    return document


def _dump(document: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def read_config(text: str, where: str = "the stack file") -> dict[str, Any]:
    """The `config:` map of a stack file's text, as plain values.

    Read with PyYAML's safe loader (the C one when present): plain values are all a reader needs,
    and it is the parser the program's own tests read stack files with.
    """
    try:
        document = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{where}: {yaml_problem(exc)}") from None
    config = document.get("config") if isinstance(document, Mapping) else None
    if not isinstance(config, Mapping):
        raise StackFileError(f"{where} must be a YAML mapping with a `config:` mapping")
    return dict(config)


def with_release_changes(
    text: str, changes: Mapping[str, Any], where: str = "the stack file"
) -> str:
    """The stack file's text with dotted-path `changes` applied under `phoenix-aws:release`
    (None removes a key). Everything else — comments, order, quoting — stays as it was.

    A release section that an older release command wrote as a JSON string is turned into YAML.
    """
    document = _load(text, where)
    config = document.get("config")
    if config is None:
        config = document["config"] = CommentedMap()
    release = config.get(RELEASE_KEY)
    if isinstance(release, str):
        try:
            release = json.loads(release)
        except ValueError:
            raise StackFileError(
                f"{where}: {RELEASE_KEY} is a string that is not JSON; write it as a YAML mapping"
            ) from None
    if not isinstance(release, CommentedMap):
        release = _commented(release or {})
        config[RELEASE_KEY] = release
    for path, value in changes.items():
        _set(release, path.split("."), value)
    return _dump(document)


def _commented(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, CommentedMap):
        result = CommentedMap()
        for key, item in value.items():
            result[key] = _commented(item)
        return result
    return value


def _set(node: CommentedMap, parts: list[str], value: Any) -> None:
    *parents, leaf = parts
    for part in parents:
        child = node.get(part)
        if not isinstance(child, CommentedMap):
            if value is None:
                return  # removing below a missing map: nothing to do
            child = _commented(child) if isinstance(child, Mapping) else CommentedMap()
            _insert(node, part, child)
        node = child
    if value is None:
        node.pop(leaf, None)
        return
    current = node.get(leaf, _MISSING)
    if current is not _MISSING and type(_plain(current)) is type(value) and current == value:
        return  # unchanged: keep the node as written (its quoting, its comment)
    value = _commented(value)
    if current is _MISSING:
        _insert(node, leaf, value)
    else:
        node[leaf] = value


_MISSING = object()


def _insert(node: CommentedMap, key: str, value: Any) -> None:
    """A new scalar goes after the last scalar entry (before the first nested map or list), where a
    person puts `promoting: green` next to `live:`; a new map goes at the end."""
    if isinstance(value, Mapping):
        node[key] = value
        return
    position = next(
        (i for i, item in enumerate(node.values()) if isinstance(item, Mapping | list)),
        len(node),
    )
    node.insert(position, key, value)


def _defaults() -> dict[str, Any]:
    """Every release setting's default, as flat paths (`live`, `blue.draining`, …)."""
    from stacks.settings import ReleaseSettings, SlotSettings

    slot = SlotSettings().model_dump(mode="json")
    top = {
        name: (info.default.value if hasattr(info.default, "value") else info.default)
        for name, info in ReleaseSettings.model_fields.items()
        if name not in ("blue", "green")
    }
    return {**top, **{f"{s}.{k}": v for s in ("blue", "green") for k, v in slot.items()}}


def release_changes_to(current: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The dotted-path changes that make a stack file's release section (`current`, as written)
    say `target` (a whole section, as the stack exports it): only the settings that differ, a
    setting that becomes unset (None) removed, so the file keeps its shape."""
    from stacks.settings.release import flat_release

    have = flat_release(_normalised(current))
    want = flat_release(dict(target))
    return {
        path: want.get(path)
        for path in dict.fromkeys([*want, *have])
        if have.get(path) != want.get(path)
    }


def _normalised(section: Mapping[str, Any]) -> dict[str, Any]:
    """A release section as written, with every default filled in (as the stack exports it)."""
    from stacks.settings import release_section

    whole = release_section(dict(section))
    if whole is not None:
        return whole
    # Not valid on its own (a hand edit in progress): compare what is written over defaults.
    filled: dict[str, Any] = {}
    for path, value in _defaults().items():
        *parent, leaf = path.split(".")
        node = filled
        for part in parent:
            node = node.setdefault(part, {})
        node[leaf] = value
    for key, value in section.items():
        if isinstance(value, Mapping) and key in ("blue", "green"):
            filled[key] = {**filled[key], **value}
        else:
            filled[key] = value
    return filled


class StackFile:
    """A stack file on disk: read its config, change its release section, restore it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_stack(cls, project_dir: Path, stack: str) -> StackFile:
        path = project_dir / "stacks" / stack_file_name(stack)
        if not path.is_file():
            raise StackFileError(
                f"no stack file {path}: create it (see docs/configuration.md), "
                "or check the stack name"
            )
        return cls(path)

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def config(self) -> dict[str, Any]:
        """The whole `config:` map (`aws:region`, `phoenix-aws:release`, …) as plain values."""
        return read_config(self.text(), str(self.path))

    def settings_config(self) -> dict[str, Any]:
        """The `phoenix-aws:` keys without the namespace, as the program validates them."""
        from stacks.settings import raw_config_from_pulumi

        return raw_config_from_pulumi(self.config())

    def release(self) -> dict[str, Any]:
        return dict(self.settings_config().get("release") or {})

    def change_release(self, changes: Mapping[str, Any]) -> None:
        self.write(with_release_changes(self.text(), changes, str(self.path)))

    def write_release(self, section: Mapping[str, Any]) -> None:
        """Make the file's release section say `section` (a whole section as the stack exports
        it), changing only the settings that differ; comments and layout stay."""
        changes = release_changes_to(self.release(), section)
        if changes:
            self.change_release(changes)

    def write(self, text: str) -> None:
        # Write a sibling and rename it over the file, so an interruption never leaves half a file.
        temporary = self.path.with_name(self.path.name + ".release-tmp")
        temporary.write_text(text, encoding="utf-8")
        shutil.copymode(self.path, temporary)
        temporary.replace(self.path)
