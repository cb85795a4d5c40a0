"""Every plan says what it will cost in time, from the stack's own settings; the benchmark adds
it up for every action on every shipped stack, and docs/releasing.md shows prod's table."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import harness
import pytest

from release import bench
from release.plan import Options, plan
from release.timing import (
    BEAM_STOP_SECONDS,
    STEADY_POLL_SECONDS,
    TASK_START_SECONDS,
    UP_OVERHEAD_SECONDS,
    Timings,
    estimate_step,
)
from stacks.settings import raw_config_from_pulumi, release_section

ROOT = Path(__file__).resolve().parent.parent
PROD = raw_config_from_pulumi(harness.stack_config("prod"))
PROMOTED = release_section(
    {
        **PROD["release"],
        "live": "green",
        "green": {"image": "repo/x@sha256:" + "2" * 64, "desired_count": 3, "max_count": 12},
    }
)


def timings(**edge) -> Timings:
    return Timings.from_config({**PROD, "edge": {**PROD["edge"], **edge}})


def scale_down(t: Timings):
    step = next(s for s in plan("drain", PROMOTED, Options()) if "scale slot" in s.title)
    return estimate_step(step, PROMOTED, t)


def test_a_scale_down_waits_the_deregistration_delay_the_stack_sets():
    quick, slow = scale_down(timings()), scale_down(timings(deregistration_delay_seconds=300))
    assert quick.expected == UP_OVERHEAD_SECONDS + 60 + BEAM_STOP_SECONDS + STEADY_POLL_SECONDS
    assert slow.expected - quick.expected == 240
    assert slow.at_most - slow.expected == 120 - BEAM_STOP_SECONDS  # stop_timeout_seconds


def test_new_tasks_wait_the_health_checks_the_stack_sets():
    deploy = plan(
        "deploy", release_section(PROD["release"]), Options(image=PROMOTED["green"]["image"])
    )
    fast = estimate_step(deploy[0], PROD["release"], timings())
    slow = estimate_step(
        deploy[0],
        PROD["release"],
        timings(health_check={"path": "/health", "interval_seconds": 30, "healthy_threshold": 5}),
    )
    assert fast.expected == UP_OVERHEAD_SECONDS + TASK_START_SECONDS + 15 * 2 + STEADY_POLL_SECONDS
    assert slow.expected - fast.expected == 30 * 5 - 15 * 2


def test_a_migration_is_expected_short_and_bounded_by_its_timeout():
    deployed = release_section(
        {**PROMOTED, "live": "blue", "green": {**PROMOTED["green"], "run_migrations": False}}
    )
    migrate = plan("promote", deployed, Options())[1]
    estimate = estimate_step(migrate, deployed, Timings.from_config(PROD))
    assert estimate.aws_waits == ["slot green's migration task"]
    assert estimate.at_most - estimate.expected == 900 - 30  # app.migration_timeout_seconds


@pytest.fixture(scope="module")
def benches():
    return {stack: bench.bench(stack) for stack in ("dev", "prod", "local")}


def test_the_bench_covers_every_action_on_every_shipped_stack(benches):
    assert [r.action for r in benches["prod"]] == [
        "deploy",
        "promote",
        "promote --canary 10,50",
        "rollback",
        "drain",
        "rollback --redeploy",
    ]
    assert [r.action for r in benches["dev"]] == [r.action for r in benches["prod"]]
    # local has no operator CIDRs: its promote is refused, and the bench says so.
    assert benches["local"][1].refused.startswith("promote smoke-tests the new slot")


def test_the_goals_hold_on_every_shipped_stack(benches):
    for rows in benches.values():
        assert bench.goals(rows) == []
    rollback = next(r for r in benches["prod"] if r.action == "rollback")
    assert rollback.traffic_after is not None and rollback.traffic_after <= 30
    promote = next(r for r in benches["prod"] if r.action == "promote")
    assert promote.expected <= 300 and promote.ups == 2


def test_a_canary_costs_its_bakes_and_watches_alarms_while_it_bakes(benches):
    rows = {r.action: r for r in benches["prod"]}
    canary, flip = rows["promote --canary 10,50"], rows["promote"]
    assert canary.ups == flip.ups + 2
    assert canary.expected - flip.expected >= 2 * 300


def test_the_bench_prints_its_tables_and_the_goals():
    out = io.StringIO()
    with redirect_stdout(out):
        assert bench.main(["prod"]) == 0
    assert out.getvalue().startswith("## prod\n\n| action | ups | AWS waits |")
    assert out.getvalue().rstrip().endswith("promote without a canary within 5 min: met")


def test_the_releasing_page_shows_prods_table_as_the_bench_computes_it(benches):
    page = (ROOT / "docs" / "releasing.md").read_text()
    assert bench.table(benches["prod"]) in page, (
        "docs/releasing.md's timing table is stale: paste `python -m release.bench prod`"
    )
