"""examples/phoenix_app checked by the real Elixir toolchain: every file parses, the modules that
need nothing but Elixir compile cleanly, and the app's own ExUnit tests pass (each one is a test
here, named after it)."""

from __future__ import annotations

import re

import pytest
from elixir import toolchain

TEST_NAME = re.compile(r'^\s*test\s+"((?:[^"\\]|\\.)*)"', re.MULTILINE)
MODULE_NAME = re.compile(r"^defmodule\s+([\w.]+)\s+do", re.MULTILINE)


def exunit_tests_in_the_app() -> list[tuple[str, str]]:
    """(module, "test <name>") of every ExUnit test in examples/phoenix_app/test."""
    found = []
    for path in sorted((toolchain.APP / "test").rglob("*_test.exs")):
        source = path.read_text()
        (module,) = MODULE_NAME.findall(source)
        found += [(module, f"test {name}") for name in TEST_NAME.findall(source)]
    return found


def test_every_elixir_file_of_the_app_parses():
    parsed = toolchain.batch().result["parsed"]
    on_disk = {
        str(p.relative_to(toolchain.APP))
        for pattern in ("*.ex", "*.exs")
        for p in toolchain.APP.rglob(pattern)
    }
    assert set(parsed) == on_disk
    assert {path: outcome for path, outcome in parsed.items() if outcome != "ok"} == {}


def test_the_modules_that_need_only_elixir_compile_without_warnings():
    compiled = toolchain.batch().result["compiled"]
    assert compiled["errors"] == []
    assert compiled["warnings"] == []
    assert len(compiled["modules"]) == len(toolchain.PURE_MODULES)


def test_the_app_tests_compile_without_warnings():
    exunit = toolchain.batch().result["exunit"]
    assert exunit["errors"] == []
    assert exunit["warnings"] == []


def test_every_exunit_test_of_the_app_ran_once():
    ran = [(t["module"], t["name"]) for t in toolchain.batch().result["exunit"]["tests"]]
    assert sorted(ran) == sorted(exunit_tests_in_the_app())


@pytest.mark.parametrize(
    ("module", "name"), exunit_tests_in_the_app(), ids=lambda v: v.removeprefix("test ")
)
def test_exunit(module: str, name: str):
    """One ExUnit test of examples/phoenix_app/test, run by Debian's Elixir."""
    results = {(t["module"], t["name"]): t for t in toolchain.batch().result["exunit"]["tests"]}
    result = results.get((module, name))
    assert result is not None, f"{module} {name!r} did not run"
    assert result["state"] == "passed", result["failure"] or result["state"]


def test_a_missing_toolchain_fails_the_checks_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda tool: None)
    with pytest.raises(pytest.fail.Exception) as failure:
        toolchain.require("elixir")
    assert "`elixir` is not installed" in str(failure.value)
    assert "apt-get install -y --no-install-recommends elixir erlang-dev" in str(failure.value)
