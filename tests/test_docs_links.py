"""The documentation holds together: every page under docs/ is linked from the README, and no
relative link or `#anchor` in any Markdown file of the repository points at nothing.

Markdown is parsed with markdown-it-py (CommonMark), so links inside code are not links. Anchors
follow GitHub's rule for heading ids (github-slugger, used by github.com to render Markdown:
https://github.com/Flet/github-slugger): the heading's text in lower case, every character that is
not a letter, digit, `_`, `-` or space removed, spaces turned into `-`; a repeated id gets `-1`,
`-2`, ….
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

from offline.mocks import ROOT

SKIPPED = {"venv", ".venv", "node_modules", "build", "deps", "_build", ".git", ".ci"}
PARSER = MarkdownIt("commonmark").enable("table")


def markdown_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not SKIPPED & set(path.relative_to(ROOT).parts[:-1])
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts[:-1])
    )


def slug(text: str) -> str:
    """GitHub's heading id for a heading's text (github-slugger's rule)."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    tokens = PARSER.parse(path.read_text())
    seen: dict[str, int] = {}
    ids = set()
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children or [])
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    return frozenset(ids)


def links(path: Path) -> list[str]:
    found = []
    for token in PARSER.parse(path.read_text()):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs["href"]))
    return found


def test_the_slug_rule_matches_githubs_ids_for_our_kinds_of_heading():
    assert slug("Releasing: blue-green, step by step") == "releasing-blue-green-step-by-step"
    assert slug("phoenix-aws:edge — required") == "phoenix-awsedge--required"
    assert slug("What the app receives (the twelve-factor contract)") == (
        "what-the-app-receives-the-twelve-factor-contract"
    )


def test_the_markdown_files_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "CHANGELOG.md", "docs/configuration.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_relative_link_or_anchor_is_broken(path: Path):
    broken = []
    for href in links(path):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("mailto:"):
            continue
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.exists():
            broken.append(f"{href}: no file {target.relative_to(ROOT)}")
        elif parts.fragment and (
            target.suffix != ".md" or unquote(parts.fragment) not in anchors(target)
        ):
            broken.append(f"{href}: no heading #{parts.fragment} in {target.relative_to(ROOT)}")
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = ROOT / "README.md"
    linked = {
        (readme.parent / urlsplit(href).path).resolve()
        for href in links(readme)
        if not urlsplit(href).scheme
    }
    unlinked = [
        page.relative_to(ROOT).as_posix()
        for page in sorted((ROOT / "docs").glob("*.md"))
        if page.resolve() not in linked
    ]
    assert unlinked == [], "add each page to the README's Documentation table"


def test_the_readme_fits_on_a_few_screens():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_ci_runs_the_test_command_the_readme_gives():
    """`.ci/run` ends with the README's test command, so CI tests what a user runs."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    (test_line,) = [line for line in section.splitlines() if "# test" in line]
    command = test_line.split("#", 1)[0].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == command == "python -m pytest"
