"""One release lock per stack, in DynamoDB: a laptop, another laptop and CI exclude each other.

The lock is run against moto's DynamoDB in this process, whose conditional writes follow
DynamoDB's rule — of writers with the same condition exactly one succeeds, the others get
ConditionalCheckFailedException
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)
— so these tests hold for the table, not for a fake of ours. The table has the key schema the
program's ReleaseLockTable creates (checked against a program run at the end).
"""

from __future__ import annotations

import threading

import harness
import pytest
from phoenix_aws.release_lock import PARTITION_KEY, SORT_KEY
from release_support import SESSION, START, Command, FakeClock, healthy_targets, lock_table

from release.lock import (
    HEARTBEAT_SECONDS,
    LOCK_TTL_SECONDS,
    LockHeld,
    LockLost,
    ReleaseLock,
    default_owner,
)

LAPTOP = "alice@laptop (pid 11)"
OTHER_LAPTOP = "bob@desk (pid 22)"
CI = default_owner(
    {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop-infra",
        "GITHUB_RUN_ID": "9001",
        "GITHUB_ACTOR": "carol",
    }
)


def locks(clock, *owners):
    table = lock_table()
    return [
        ReleaseLock(SESSION.client("dynamodb"), table, stack="prod", owner=owner, clock=clock)
        for owner in owners
    ]


def test_a_laptop_another_laptop_and_ci_exclude_each_other():
    clock = FakeClock()
    laptop, other, ci = locks(clock, LAPTOP, OTHER_LAPTOP, CI)
    laptop.acquire("promote", "promote --canary 10")
    for refused in (other, ci):
        with pytest.raises(LockHeld, match=r"alice@laptop \(pid 11\) holds it for `promote"):
            refused.acquire("deploy", "deploy --image x")
    assert laptop.release()
    ci.acquire("drain", "drain")
    for refused in (laptop, other):
        with pytest.raises(LockHeld, match="github-actions acme/shop-infra run 9001 by carol"):
            refused.acquire("rollback", "rollback")
    assert laptop.holder().owner == CI


def test_a_second_acquire_after_the_first_write_is_refused_by_the_condition_itself():
    """Two releases that both read "free" still cannot both win: the exclusion is the write's
    condition, not the read. (moto applies conditions per request but does not serialize
    threads, so the race is replayed in order here; DynamoDB serializes writes to an item.)"""
    clock = FakeClock()
    laptop, ci = locks(clock, LAPTOP, CI)
    assert laptop.holder() is None and ci.holder() is None  # both saw a free lock
    laptop.acquire("deploy", "deploy")
    with pytest.raises(LockHeld):
        ci.acquire("deploy", "deploy")
    assert ci.holder().owner == LAPTOP


def test_a_broken_lock_is_noticed_by_its_holder_at_its_next_step():
    clock = FakeClock()
    laptop, other = locks(clock, LAPTOP, OTHER_LAPTOP)
    laptop.acquire("drain", "drain")
    other.break_lock(other.holder())
    other.acquire("rollback", "rollback")
    with pytest.raises(LockLost, match=r"lost the release lock.*bob@desk \(pid 22\) holds it"):
        laptop.renew()
    with pytest.raises(LockLost):  # and keeps knowing it
        laptop.renew()
    assert not laptop.release()  # it never deletes the lock it lost
    assert other.holder().owner == OTHER_LAPTOP


def test_a_stale_lock_is_shown_stale_and_never_taken_without_breaking_it():
    clock = FakeClock()
    laptop, other = locks(clock, LAPTOP, OTHER_LAPTOP)
    laptop.acquire("drain", "drain --bake 600")
    clock.now += LOCK_TTL_SECONDS + 5  # the laptop died: nobody renews
    with pytest.raises(LockHeld) as refused:
        other.acquire("deploy", "deploy")
    assert "stale: not renewed since 10:00:00 UTC (expired 5 s ago)" in str(refused.value)
    assert "break the lock with `python -m release prod unlock`" in str(refused.value)
    other.break_lock(other.holder())
    other.acquire("deploy", "deploy")
    history = other.history()
    assert history[0]["event"] == "unlock" and history[0]["broke"] == LAPTOP


def test_a_break_removes_only_the_lock_that_was_looked_at():
    clock = FakeClock()
    laptop, other, ci = locks(clock, LAPTOP, OTHER_LAPTOP, CI)
    laptop.acquire("deploy", "deploy")
    seen = other.holder()
    laptop.release()
    ci.acquire("promote", "promote")  # taken after `other` looked
    with pytest.raises(LockHeld, match="changed hands while you looked"):
        other.break_lock(seen)
    assert ci.holder().owner == CI


def test_renewal_moves_the_expiry_and_waits_renew_once_a_heartbeat():
    clock = FakeClock()
    (laptop,) = locks(clock, LAPTOP)
    laptop.acquire("drain", "drain")
    clock.now += 100
    laptop.renew()
    assert laptop.holder().expires_at == pytest.approx(START + 100 + LOCK_TTL_SECONDS)
    clock.now += HEARTBEAT_SECONDS - 1
    laptop.renew_if_due()  # not due yet: no write
    assert laptop.holder().expires_at == pytest.approx(START + 100 + LOCK_TTL_SECONDS)
    clock.now += 1
    laptop.renew_if_due()
    assert laptop.holder().expires_at == pytest.approx(START + 160 + LOCK_TTL_SECONDS)


def test_the_heartbeat_keeps_the_lock_alive_while_an_up_blocks():
    clock = FakeClock()
    (laptop,) = locks(clock, LAPTOP)
    laptop.acquire("promote", "promote")
    renewed = threading.Event()
    original = laptop.renew

    def counting_renew():
        original()
        renewed.set()

    laptop.renew = counting_renew  # type: ignore[method-assign]
    with laptop.kept_alive(interval=0.01):
        clock.now += 1800  # a long up: the migration runs half an hour
        assert renewed.wait(5)
    assert laptop.holder().expires_at >= START + 1800 + LOCK_TTL_SECONDS


def test_the_command_holds_the_lock_for_the_whole_action_and_status_shows_the_holder(tmp_path):
    from release_support import project_copy

    project = project_copy(tmp_path)
    alice = Command(project, owner=LAPTOP)
    holders: list = []

    def sleep(seconds):  # during the drain's bake, Bob tries, and looks
        if not holders:
            bob = Command(project, alice.stack, owner=OTHER_LAPTOP)
            assert bob("prod", "deploy", "--image", "x@sha256:" + "3" * 64) == 3
            holders.append(bob.errors)
            healthy_targets(bob.aws, blue=3, green=3)
            assert bob("prod", "status") == 0
            holders.append(bob.output)
        alice.clock.sleep(seconds)

    alice.services.sleep = sleep
    from release.stack_file import StackFile

    StackFile.for_stack(project, "prod").change_release(
        {"live": "green", "green.image": "repo/x@sha256:" + "2" * 64, "green.desired_count": 3}
    )
    alice.stack.stack_outputs.pop("release_state", None)
    assert alice("prod", "drain", "--drain-pause", "0") != 3, alice.errors
    refused, status = holders
    assert "another release of prod is under way: alice@laptop (pid 11) holds it for `drain" in (
        refused
    )
    assert "release lock: alice@laptop (pid 11) holds it for `drain --drain-pause 0`" in status
    assert "release lock of prod released" in alice.output  # given back at the end, even failed


def test_unlock_breaks_a_stale_lock_and_a_live_one_only_with_force(tmp_path):
    from release_support import project_copy

    project = project_copy(tmp_path)
    alice, bob = Command(project, owner=LAPTOP), None
    table = alice.stack.stack_outputs["release_lock_table"]
    held = ReleaseLock(
        SESSION.client("dynamodb"), table, stack="prod", owner=LAPTOP, clock=alice.clock
    )
    held.acquire("promote", "promote")
    bob = Command(project, alice.stack, owner=OTHER_LAPTOP, clock=alice.clock)
    assert bob("prod", "unlock") == 3
    assert "the release lock is live" in bob.errors and "unlock --force" in bob.errors
    alice.clock.now += LOCK_TTL_SECONDS
    assert bob("prod", "unlock") == 0
    assert "broke the release lock of prod that alice@laptop (pid 11) held for `promote`" in (
        bob.output
    )
    assert bob("prod", "unlock") == 0 and "nobody holds the release lock" in bob.output


def test_the_table_the_program_creates_is_the_one_the_lock_uses():
    run = harness.run_main(harness.stack_config("prod"), stack="prod")
    table = run.named("release-lock-table")
    assert table["name"] == "phoenix-aws-prod-release"
    assert (table["hashKey"], table["rangeKey"]) == (PARTITION_KEY, SORT_KEY)
    assert {(a["name"], a["type"]) for a in table["attributes"]} == {
        (PARTITION_KEY, "S"),
        (SORT_KEY, "S"),
    }
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["deletionProtectionEnabled"] is True and table.protect
    assert run.exports["release_lock_table"] == "phoenix-aws-prod-release"
