"""A draining slot gets no new connections: the load balancer stops sending them before the
slot's nodes start shedding theirs. Two rules hold the order: a slot may start draining only in
an `up` after the one that took its traffic away (its weight is 0 in the deployed stack, so its
listener weights changed in an earlier, finished update), and a forward with all the weight on
one slot is not sticky (the load balancer lets group stickiness win over weights; see
tests/test_load_balancer.py). The release command follows the order (flip, bake, drain); these
refuse anyone who does not."""

import pytest

from stacks.settings.release import drain_order_problems, release_change_problems

IMAGE = "repo/app@sha256:" + "a" * 64


def state(live="blue", canary=0, draining=()):
    """A whole release section, as the stack exports it (`release_state`)."""
    return {
        "live": live,
        "canary_percent": canary,
        "promoting": None,
        **{
            slot: {"image": IMAGE, "desired_count": 2, "draining": slot in draining}
            for slot in ("blue", "green")
        },
    }


def test_an_older_export_with_its_slots_map_is_read_the_same_way():
    legacy = {"live": "blue", "canary_percent": 0, "slots": {"blue": {}, "green": {}}}
    (problem,) = drain_order_problems(state(live="green", draining=["blue"]), legacy)
    assert problem.startswith("release.blue.draining: the deployed stack still sends blue")


def test_a_slot_drains_after_the_up_that_took_its_traffic_away():
    flipped = state(live="green")
    assert drain_order_problems(state(live="green", draining=["blue"]), flipped) == []


@pytest.mark.parametrize(
    ("deployed", "slot"),
    [
        (state(live="blue"), "blue"),  # flip and drain in one up
        (state(live="green", canary=10), "blue"),  # the idle slot still has a canary
    ],
)
def test_a_slot_the_deployed_stack_still_sends_traffic_to_may_not_start_draining(deployed, slot):
    planned = state(live="green", draining=[slot])
    (problem,) = drain_order_problems(planned, deployed)
    assert problem.startswith(f"release.{slot}.draining: the deployed stack still sends {slot}")
    assert "move the traffic away in one up and start the drain in the next" in problem


def test_the_order_holds_for_hand_made_changes_too():
    planned, deployed = state(live="green", draining=["blue"]), state(live="blue")
    problems = release_change_problems(planned, deployed, by_hand=True)
    assert len(problems) == 1 and "blue.draining" in problems[0]


def test_a_drain_already_under_way_is_not_refused():
    draining = state(live="green", draining=["blue"])
    assert drain_order_problems(draining, draining) == []


def test_a_first_deployment_has_no_order_to_keep():
    assert release_change_problems(state(draining=["green"]), None) == []
