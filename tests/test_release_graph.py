"""The release's rules that live in the program's own graph, so no `up` — the release command's,
CI's or one by hand — can skip them:

- capacity before traffic: no listener weight changes before the capacity gate has seen every
  slot that gains traffic run the healthy targets its new share needs;
- after every service change, ECS's PRIMARY deployment must run the task definition the `up`
  registered (a circuit-breaker rollback fails the `up` before traffic moves);
- the migration never runs on Fargate Spot, and two slots never migrate at once.

The helpers these steps run are tested against botocore's Stubber in test_release_helpers.py.
"""

from __future__ import annotations

import contextlib
import json
import os

import harness
import pytest
from phoenix_aws.migration import Migration
from phoenix_aws.validation import ComponentArgError
from tests_support import IMAGE

from stacks.settings import raw_config_from_pulumi, release_section

NEW_IMAGE = IMAGE.replace("b" * 64, "e" * 64)
PROD = raw_config_from_pulumi(harness.stack_config("prod"))
WARMED = {"green": {"image": NEW_IMAGE, "desired_count": 3, "run_migrations": True}}


def deployed(**release) -> dict:
    """The outputs of the last `up`: its whole release section."""
    section = release_section(harness._deep_merge(PROD["release"], release))
    assert section is not None
    return {"release_state": section}


@contextlib.contextmanager
def released_from(outputs: dict):
    """The environment the release command gives its ups: the section it planned from."""
    saved = os.environ.get("PHOENIX_AWS_RELEASE_EXPECTED")
    os.environ["PHOENIX_AWS_RELEASE_EXPECTED"] = json.dumps(outputs["release_state"])
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PHOENIX_AWS_RELEASE_EXPECTED")
        else:
            os.environ["PHOENIX_AWS_RELEASE_EXPECTED"] = saved


def released(run_stack, previous: dict, **release):
    with released_from(previous):
        return run_stack("prod", release=release, previous_outputs=previous)


def depends_on(run, name, other):
    seen, todo = set(), [name]
    while todo:
        for dep in run.dependencies_of(run.named(todo.pop())):
            if dep == other:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


@pytest.fixture(scope="module")
def flip():
    """prod's `up` that flips live from blue to green (green warmed up and migrated)."""
    previous = deployed(live="blue", promoting="green", **WARMED)
    with released_from(previous):
        return harness.run_main(
            harness.with_overrides(
                harness.stack_config("prod"),
                release={"live": "green", "promoting": None, **WARMED},
            ),
            stack="prod",
            previous_outputs=previous,
        )


def gate_slots(run) -> dict:
    return json.loads(run.named("traffic-capacity")["environment"]["CAPACITY_SLOTS"])


def test_no_weight_changes_before_the_capacity_gate(flip):
    gate = flip.named("traffic-capacity")
    assert gate["create"].endswith("-m phoenix_aws.helpers.capacity")
    forwarding = [
        "traffic-live",
        *[
            r.name
            for r in flip.resources
            if r.name.startswith("traffic-path-") and r.name[-2:] == "-0"
        ],
    ]
    assert len(forwarding) == 2  # the live rule and prod's webhook allow-list rule
    for rule in forwarding:
        assert depends_on(flip, rule, "traffic-capacity"), rule
    # …and the gate itself runs once both slots are steady, verified and migrated.
    for slot in ("blue", "green"):
        assert depends_on(flip, "traffic-capacity", f"slot-{slot}-service")
        assert depends_on(flip, "traffic-capacity", f"slot-{slot}-deployment-check")
        assert depends_on(flip, "traffic-capacity", f"slot-{slot}-migrate-run")


def test_the_gate_sizes_the_slot_from_the_deployed_weights(flip):
    slots = gate_slots(flip)
    assert {s: (v["old_weight"], v["new_weight"]) for s, v in slots.items()} == {
        "blue": (100, 0),
        "green": (0, 100),
    }
    assert slots["green"]["floor"] == 3
    env = flip.named("traffic-capacity")["environment"]
    assert env["CAPACITY_TIMEOUT"] == "600"  # release.capacity_timeout_seconds
    assert env["CAPACITY_AUTOSCALING"] == "true"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]


def test_a_canary_is_sized_as_its_share_and_the_flip_from_it_as_the_whole(run_stack):
    canary = released(
        run_stack,
        deployed(promoting="green", **WARMED),
        canary_percent=10,
        promoting="green",
        **WARMED,
    )
    slots = gate_slots(canary)
    assert (slots["green"]["old_weight"], slots["green"]["new_weight"]) == (0, 10)
    flip_from_canary = released(
        run_stack, deployed(canary_percent=10, promoting="green", **WARMED), live="green", **WARMED
    )
    slots = gate_slots(flip_from_canary)
    assert (slots["green"]["old_weight"], slots["green"]["new_weight"]) == (10, 100)
    assert (slots["blue"]["old_weight"], slots["blue"]["new_weight"]) == (90, 0)


def test_a_change_to_the_idle_slot_leaves_the_gate_alone(run_stack):
    """A deploy to the idle slot changes no weight: the gate's inputs stay, so it does not run."""
    before = run_stack("prod")
    after = run_stack(
        "prod", release={"green": {"image": NEW_IMAGE, "desired_count": 3, "run_migrations": False}}
    )
    assert before.named("traffic-capacity").inputs == after.named("traffic-capacity").inputs
    assert set(gate_slots(after)) == {"blue"}  # only the slot that gains or serves


def test_a_first_deployment_waits_for_the_live_slots_configured_count(run_stack):
    slots = gate_slots(run_stack("prod"))
    assert slots == {
        "blue": {
            "target_group_arn": slots["blue"]["target_group_arn"],
            "service": slots["blue"]["service"],
            "floor": 3,
            "old_weight": 0,
            "new_weight": 100,
        }
    }


def test_every_service_change_is_checked_against_what_ecs_runs(flip):
    for slot in ("blue", "green"):
        check = flip.named(f"slot-{slot}-deployment-check")
        env = check["environment"]
        assert check["create"].endswith("-m phoenix_aws.helpers.deployment_check")
        assert env["DEPLOYMENT_TASK_DEFINITION"].endswith(f"/slot-{slot}-task")  # its ARN
        assert env["DEPLOYMENT_SERVICE"] == flip.named(f"slot-{slot}-service")["name"]
        assert depends_on(flip, f"slot-{slot}-deployment-check", f"slot-{slot}-service")
        assert depends_on(flip, "traffic-live", f"slot-{slot}-deployment-check")


def test_an_emulator_stack_neither_gates_nor_checks(run_stack):
    """The local stack's tasks never run in moto: it waits for no steady service, so nothing
    could pass a gate or a check; it has neither (and says so in its stack file)."""
    run = run_stack("local")
    assert run.maybe("traffic-capacity") is None
    assert not [r for r in run.resources if r.name.endswith("-deployment-check")]


def test_the_migration_never_runs_on_spot_even_for_a_spot_slot(run_stack):
    run = run_stack("prod", release={"blue": {"spot": True}})
    service = run.named("slot-blue-service")
    assert service["capacityProviderStrategies"][0]["capacityProvider"] == "FARGATE_SPOT"
    env = run.named("slot-blue-migrate-run")["environment"]
    assert env["MIGRATION_CAPACITY_PROVIDER"] == "FARGATE"


def test_a_migration_asked_to_run_on_spot_is_refused(run_component):
    def program():
        Migration(
            "m",
            {
                "slot": "blue",
                "image": IMAGE,
                "command": "bin/shop eval x",
                "cluster_name": "c",
                "task_definition_family": "f",
                "container_name": "shop",
                "subnet_ids": ["s"],
                "security_group_ids": ["g"],
                "log_group_name": "l",
                "spot": True,
            },
        )

    with pytest.raises(ComponentArgError, match="never runs on Fargate Spot"):
        run_component(program)


def test_two_slots_migrating_in_one_up_run_one_after_the_other(run_stack):
    """A first deployment with both slots: green's migration starts once blue's finished."""
    run = run_stack("prod", release={"green": {"image": NEW_IMAGE, "desired_count": 2}})
    assert depends_on(run, "slot-green-migrate-run", "slot-blue-migrate-run")
    assert not depends_on(run, "slot-blue-migrate-run", "slot-green-migrate-run")
    # Ordering only: green's migration still runs its own image.
    env = run.named("slot-green-migrate-run")["environment"]
    assert env["MIGRATION_IMAGE"] == NEW_IMAGE
