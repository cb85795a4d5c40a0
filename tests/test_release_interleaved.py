"""Two operators interleaved: deploy, drain and rollback in every order, the second acting at the
first one's step boundaries (see test_release_faults.py for the simulated stack and AWS, and the
invariants every scenario is held to)."""

from __future__ import annotations

import pytest
from release_support import NEW, SESSION
from release_world import ACTIONS, PROMOTED, Scenario, forward_weights, settled

from release.lock import LOCK_KEY

PAIRS = [(first, second) for first in ("deploy", "drain", "rollback")
         for second in ("deploy", "drain", "rollback")]  # fmt: skip
SECOND = {
    "deploy": ["deploy", "--image", NEW.replace("2" * 64, "4" * 64)],
    "drain": ["drain", "--bake", "0", "--drain-pause", "0"],
    "rollback": ["rollback"],
}


_BOUNDARIES: dict[tuple[str, ...], int] = {}


def boundaries(tmp_path, argv: list[str]) -> int:
    """How many step boundaries Alice's command passes, run alone from PROMOTED (once per
    command: the same for every second operator and mode)."""
    key = tuple(argv)
    if key not in _BOUNDARIES:
        probe = Scenario(tmp_path / "probe", PROMOTED)
        process = probe.process("alice")
        code, text = probe.run(process, *argv)
        assert code == 0, text
        _BOUNDARIES[key] = process.count
    return _BOUNDARIES[key]


@pytest.mark.parametrize(("first", "second"), PAIRS)
@pytest.mark.parametrize("force", [False, True], ids=["refused", "breaks-the-lock"])
def test_two_operators_interleaved_never_undo_each_other(tmp_path, first, second, force):
    """Alice runs `first` from one checkout; at each of her step boundaries (one scenario each)
    Bob runs `second` from another. Without --force the lock refuses him and she finishes; with
    it, she stops at her next step and what Bob did stands."""
    argv = SECOND[first] if first != "deploy" else ACTIONS["deploy"][1]
    last = boundaries(tmp_path, argv)
    # Breaking the lock: every other boundary and the last (the suite's time budget; the kill
    # matrix in test_release_faults.py stops at every one). Refused, or before Alice's lock: the
    # first, a middle and the last.
    points = sorted({*range(1, last + 1, 2), last}) if force else sorted({1, (last + 1) // 2, last})
    for point in points:
        scenario = Scenario(tmp_path / str(point), PROMOTED)
        bob: dict = {}

        def act(count, scenario=scenario, bob=bob, point=point):
            if count != point or bob:
                return
            bob["alice_held"] = "Item" in SESSION.client("dynamodb").get_item(
                TableName=scenario.world.table, Key=LOCK_KEY, ConsistentRead=True
            )
            if force:
                bob["unlock"] = scenario.run(scenario.process("bob"), "unlock", "--force")
            bob["code"], bob["text"] = scenario.run(scenario.process("bob"), *SECOND[second])
            bob["state"] = settled(dict(scenario.world.deployed))

        alice = scenario.process("alice", on_boundary=act)
        code, text = scenario.run(alice, *argv)
        scenario.check(settled=False)
        if not force:
            if bob["alice_held"]:
                assert bob["code"] == 3 and "another release of prod is under way" in bob["text"]
            # else Bob ran before Alice took the lock: she then plans from what he left.
            continue
        if scenario.world.weights != forward_weights(
            scenario.world.deployed["live"], scenario.world.deployed["canary_percent"]
        ):
            # Alice's rollback lost its lock after its listener change: every action but
            # rollback refuses until a rollback finishes it, which it does.
            assert first == "rollback", text
            code, text = scenario.run(scenario.process("carol"), "rollback")
            assert code == 0, text
            scenario.check()
            continue
        if bob["code"] == 0 and code != 0:
            # Alice stopped (lost lock, changed stack, or refused by what Bob left): nothing of
            # hers landed after Bob's release.
            assert settled(scenario.world.deployed) == bob["state"], (point, text)
