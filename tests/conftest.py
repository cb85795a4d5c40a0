"""Shared fixtures: each test runs Pulumi code under its own fresh mocks (see offline/mocks.py)."""

from __future__ import annotations

import atexit
import gc
import os
import sys

import pytest


def _runs_tests(config) -> bool:
    """This process runs tests: an xdist worker, or pytest without workers (not the controller
    that only hands out files and gathers reports, and need not import what the tests do)."""
    return hasattr(config, "workerinput") or not config.getoption("numprocesses", None)


def pytest_configure(config):
    if not _runs_tests(config):
        return
    from hypothesis import settings

    # No test depends on the machine's speed: Hypothesis's per-example deadline (200 ms by
    # default) fails a correct test on a loaded machine, so the whole suite runs without one. A
    # test that guards against a hang bounds its own run, far above any load.
    settings.register_profile("phoenix-aws", deadline=None)
    settings.load_profile("phoenix-aws")
    # A worker holds pulumi, pulumi_aws and every program run it has cached (offline/mocks.py):
    # a few hundred thousand objects that live until it ends. CPython's full collections walk
    # all of them (a quarter of a second each, one or two per program run at the default
    # thresholds), so they run less often, and what the collected test modules loaded is moved
    # out of their way (pytest_collection_finish).
    gc.set_threshold(100_000, 50, 100)


def pytest_collection_finish(session):
    if _runs_tests(session.config):
        gc.freeze()


@pytest.fixture
def run_component():
    """Run a callable that builds components under fresh mocks; returns the recorded `Run`."""
    import harness

    return harness.run


@pytest.fixture
def run_stack():
    """Run the real `__main__.py` for a stack file, with optional section overrides."""

    import harness

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


def pytest_unconfigure(config):
    """An xdist worker ends without freeing its heap object by object (seconds with the runs it
    cached): everything it reports has been sent by now, and its exit status is not read."""
    if hasattr(config, "workerinput"):
        atexit.register(_exit_at_once)


def _exit_at_once() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
