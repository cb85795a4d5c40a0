"""The suite does not depend on the machine's speed: no Hypothesis deadline anywhere."""

import re

from hypothesis import settings

from offline.mocks import ROOT


def test_the_suite_profile_has_no_deadline():
    assert settings.default.deadline is None


def test_no_test_sets_a_deadline_of_its_own():
    found = [
        f"{path.name}: {match.group(0)}"
        for path in sorted((ROOT / "tests").glob("*.py"))
        for match in re.finditer(r"[(,]\s*deadline\s*=\s*(?!None)[\w.(]+", path.read_text())
    ]
    assert found == []
