"""docs/architecture.md stays true: every file and folder it names exists, every module of the
package is on it, and the README sends a newcomer to it first."""

import re

from offline.mocks import ROOT

PAGE = ROOT / "docs" / "architecture.md"


def named_paths() -> set[str]:
    """Backquoted repository paths on the page: `components/phoenix_aws/app.py`, `release/`."""
    quoted = re.findall(r"`([^`\s]+)`", PAGE.read_text())
    return {q for q in quoted if "/" in q and not q.startswith(("-", "http")) and "<" not in q}


def test_every_file_and_folder_the_page_names_exists():
    paths = named_paths()
    assert "components/phoenix_aws/app.py" in paths and "release/" in paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names what does not exist: {missing}"


def test_every_module_of_the_package_is_on_the_page():
    package = ROOT / "components" / "phoenix_aws"
    modules = {
        str(p.relative_to(ROOT))
        for p in package.rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    assert modules - named_paths() == set(), "add the new module to docs/architecture.md"


def test_the_readme_sends_a_newcomer_to_the_architecture_first():
    readme = (ROOT / "README.md").read_text()
    docs = readme.split("## Documentation", 1)[1]
    first_link = re.search(r"\]\((docs/[^)]+)\)", docs)
    assert first_link and first_link.group(1) == "docs/architecture.md"
