"""Shared fixtures: each test runs Pulumi code under its own fresh mocks (see offline/mocks.py)."""

from __future__ import annotations

import sys

import harness
import pytest
from hypothesis import settings

# No test depends on the machine's speed: Hypothesis's per-example deadline (200 ms by default)
# fails a correct test on a loaded machine, so the whole suite runs without one. A test that
# guards against a hang bounds its own run, far above any load.
settings.register_profile("phoenix-aws", deadline=None)
settings.load_profile("phoenix-aws")


@pytest.fixture
def run_component():
    """Run a callable that builds components under fresh mocks; returns the recorded `Run`."""
    return harness.run


@pytest.fixture
def run_stack():
    """Run the real `__main__.py` for a stack file, with optional section overrides."""

    def _run(stack: str = "prod", *, preview: bool = False, previous_outputs=None, **overrides):
        config = harness.with_overrides(harness.stack_config(stack), **overrides)
        return harness.run_main(
            config, stack=stack, preview=preview, previous_outputs=previous_outputs
        )

    return _run


@pytest.fixture(autouse=True)
def _no_moto_after_the_test():
    """The release tests' in-process moto (release_support.lock_table) ends with the test that
    started it, so it never answers another test's AWS calls."""
    yield
    support = sys.modules.get("release_support")
    if support is not None:
        support.stop_moto()
