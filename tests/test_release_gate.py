"""The migration gate and the swap: traffic moves only after steady slots and migrations, and a
change to the idle slot or to `live` never touches what serves traffic."""

from __future__ import annotations

import json

import harness
import pytest
from phoenix_aws.load_balancer import path_group
from tests_support import IMAGE

NEW_IMAGE = IMAGE.replace("b" * 64, "e" * 64)


def by_key(run):
    return {(r.type, r.name): r for r in run.resources}


def changed(a, b):
    before, after = by_key(a), by_key(b)
    return {
        key[1]
        for key in before.keys() | after.keys()
        if key not in before or key not in after or before[key].inputs != after[key].inputs
    }


def test_migration_runs_the_release_command_in_the_slot_admin_task_definition(run_stack):
    run = run_stack("prod")
    task = run.named("slot-blue-migrate-run")
    env = task["environment"]
    assert task["create"].endswith("-m phoenix_aws.helpers.migrate_task")
    assert env["MIGRATION_COMMAND"] == 'bin/shop eval "Shop.Release.migrate()"'
    assert env["MIGRATION_TASK_FAMILY"] == "phoenix-aws-prod-blue-admin"
    assert env["MIGRATION_CONTAINER"] == "shop"
    assert env["MIGRATION_SUBNETS"] == ",".join(f"network-private-{i}-id" for i in range(3))
    assert env["MIGRATION_SECURITY_GROUPS"] == "nodes-sg-id"
    assert env["MIGRATION_LOG_GROUP"] == "/ecs/phoenix-aws-prod"
    assert env["MIGRATION_IMAGE"].endswith(
        "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
    )


def test_migration_reruns_only_when_the_image_or_command_changes(run_stack):
    task = run_stack("prod").named("slot-blue-migrate-run")
    assert task["triggers"] == [
        task["environment"]["MIGRATION_IMAGE"],
        task["environment"]["MIGRATION_COMMAND"],
    ]


def depends_on(run, name, other):
    """True when `name` waits for `other`, directly or through other resources."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        for dep in run.dependencies_of(run.named(current)):
            if dep == other:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


@pytest.mark.parametrize(
    ("path", "release", "slot"),
    [
        ("first deployment", {}, "blue"),
        ("the live slot's image changes in place", {"blue": {"image": NEW_IMAGE}}, "blue"),
        (
            "a new image is promoted on the idle slot",
            {"promoting": "green", "green": {"image": NEW_IMAGE, "desired_count": 3}},
            "green",
        ),
    ],
)
def test_no_task_of_an_image_starts_before_its_migration(run_stack, path, release, slot):
    """The service (which starts the tasks of its task definition) waits for the migration of
    that same image, which runs from the admin task definition; traffic waits for both."""
    run = run_stack("prod", release=release)
    migration = f"slot-{slot}-migrate-run"
    service = f"slot-{slot}-service"
    assert depends_on(run, service, migration), path
    assert not depends_on(run, migration, service), path
    assert depends_on(run, migration, f"slot-{slot}-admin-task"), path
    assert depends_on(run, "traffic-live", migration), path
    image = run.named(migration)["environment"]["MIGRATION_IMAGE"]
    assert json.loads(run.named(f"slot-{slot}-task")["containerDefinitions"])[0]["image"] == image


def test_dev_follows_main_and_still_migrates_before_its_tasks_change(run_stack):
    """dev's live slot is `image: build`: every merge rolls the new build into the live slot, and
    that rollout waits for the migration of the new build."""
    run = run_stack("dev")
    assert depends_on(run, "slot-blue-service", "slot-blue-migrate-run")
    assert depends_on(run, "slot-blue-migrate-run", "image-build")


def test_listener_flip_depends_on_migrations_and_steady_slots(run_stack):
    run = run_stack("prod", release={"green": {"desired_count": 2}})
    for dependency in (
        "slot-blue-migrate-run",
        "slot-green-migrate-run",
        "slot-blue-service",
        "slot-green-service",
    ):
        assert depends_on(run, "traffic-live", dependency)


def test_a_slot_warming_up_without_migrations_has_no_migration_task(run_stack):
    run = run_stack(
        "prod", release={"green": {"image": NEW_IMAGE, "desired_count": 3, "run_migrations": False}}
    )
    assert run.maybe("slot-green-migrate-run") is None
    assert run.maybe("slot-blue-migrate-run") is not None
    assert not depends_on(run, "slot-green-service", "slot-blue-migrate-run")


def test_custom_migrate_command(run_stack):
    run = run_stack("prod", app={"migrate_command": "bin/shop eval 'Shop.Release.migrate_all()'"})
    assert (
        run.named("slot-blue-migrate-run")["environment"]["MIGRATION_COMMAND"]
        == "bin/shop eval 'Shop.Release.migrate_all()'"
    )


def test_services_wait_for_steady_state_so_the_gate_means_healthy(run_stack):
    assert run_stack("prod").named("slot-blue-service")["waitForSteadyState"] is True


def test_changing_the_idle_slot_never_touches_the_live_slot(run_stack):
    base = run_stack("prod")
    deployed = run_stack(
        "prod",
        release={
            "green": {
                "image": NEW_IMAGE,
                "desired_count": 3,
                "run_migrations": False,
                "version": "2026.11.24-1",
            }
        },
    )
    diff = changed(base, deployed)
    assert diff, "the deploy changed nothing"
    assert not any(name.startswith("slot-blue") for name in diff), sorted(diff)
    assert "traffic-live" not in diff  # weights unchanged while green warms up
    assert all(name.startswith(("slot-green", "image-inuse-green")) for name in diff), sorted(diff)


def test_flipping_live_and_canary_changes_only_forward_weights(run_stack):
    common = {"green": {"image": NEW_IMAGE, "desired_count": 3}}
    blue = run_stack("prod", release={"live": "blue", **common})
    canary = run_stack(
        "prod", release={"live": "blue", "canary_percent": 10, "promoting": "green", **common}
    )
    green = run_stack("prod", release={"live": "green", **common})
    weighted = {"traffic-live", f"traffic-{path_group('/api/telegram/*')}-0"}
    # While green is promoted it also has alarms of its own, for the canary to watch.
    watched = {"monitoring-canary-green-5xx", "monitoring-canary-green-response-time"}
    # The capacity gate runs again whenever the weights change (see test_release_graph.py).
    assert changed(blue, canary) == weighted | watched | {"traffic-capacity"}
    assert changed(blue, green) == weighted | {"traffic-capacity"}


def test_no_config_change_to_the_idle_slot_replaces_or_deletes_live_resources(run_stack):
    base = run_stack("prod", release={"green": {"desired_count": 3}})
    live = {key: r for key, r in by_key(base).items() if "blue" in key[1]}
    for variant in (
        {"green": {"desired_count": 0}},
        {
            "green": {
                "image": NEW_IMAGE,
                "desired_count": 5,
                "max_count": 9,
                "run_migrations": False,
            }
        },
        {"green": {"image": None, "desired_count": 0}},
    ):
        after = by_key(run_stack("prod", release=variant))
        for key, resource in live.items():
            assert key in after, f"{key} deleted by {variant}"
            assert after[key].inputs == resource.inputs, f"{key} changed by {variant}"


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        (
            {
                "live": "green",
                "green": {"image": NEW_IMAGE, "desired_count": 3, "run_migrations": False},
            },
            "phoenix-aws:release.green.run_migrations: slot green takes traffic, so its image must be migrated before it serves: a new image reaches traffic through deploy (no migrations, no traffic) and promote (migrations first): python -m release <stack> deploy|promote|rollback|drain (see docs/releasing.md) (got false)",
        ),
        (
            {
                "canary_percent": 10,
                "green": {"image": NEW_IMAGE, "desired_count": 3, "run_migrations": False},
            },
            "phoenix-aws:release.green.run_migrations: slot green takes traffic, so its image must be migrated before it serves: a new image reaches traffic through deploy (no migrations, no traffic) and promote (migrations first): python -m release <stack> deploy|promote|rollback|drain (see docs/releasing.md) (got false)",
        ),
        (
            {"canary_percent": 10, "green": {"desired_count": 0}},
            "phoenix-aws:release.canary_percent: a canary goes to the idle slot (green), which has no tasks (got 10)",
        ),
        (
            {"blue": {"image": "build"}},
            "phoenix-aws:release.blue.image: 'build' needs phoenix-aws:image.context (the app's build context)",
        ),
        (
            {"promoting": "blue"},
            "phoenix-aws:release.promoting: the live slot cannot be promoted (got 'blue')",
        ),
    ],
)
def test_release_config_that_would_send_traffic_unsafely_is_refused(release, expected):
    from stacks.settings import ConfigError, load_settings

    config = harness.with_overrides(harness.stack_config("prod"), release=release)
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("phoenix-aws:")}
    with pytest.raises(ConfigError) as info:
        load_settings(raw)
    assert expected in info.value.problems


def test_production_live_slot_must_be_pinned():
    from stacks.settings import ConfigError, load_settings

    config = harness.with_overrides(
        harness.stack_config("prod"),
        image={"context": "examples/phoenix_app"},
        release={"blue": {"image": "build"}},
    )
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("phoenix-aws:")}
    with pytest.raises(ConfigError) as info:
        load_settings(raw)
    assert info.value.problems == [
        "phoenix-aws:release.blue.image: the live slot in production must be pinned to a digest, not 'build'"
    ]
