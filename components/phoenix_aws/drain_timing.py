"""When sockets close: the drain and the load balancer agree in time. One inequality, owned here
and checked wherever its numbers are chosen (ReleaseSlot, the stack settings); the app holds its
side (examples/phoenix_app `Shop.Drain.Timing`, `Shop.Shutdown`), and a test reads both.

How ECS takes a task out of a service behind an Application Load Balancer: it sets the task's
desired status to STOPPED and deregisters the target; the load balancer sends it no new
requests, keeps the open connections for the target group's deregistration delay, closes
whatever is still open when the delay ends (or completes at once when nothing is open), and only
then does ECS send SIGTERM, and SIGKILL `stopTimeout` seconds later.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay

The inequality, for a node ECS stops:

    poll + stop shed window + margin  <=  deregistration delay
    load balancer idle timeout        <   app keep-alive
    SIGTERM socket drain + HTTP drain + BEAM margin  <=  stopTimeout  <=  120 s

- The slot's leader asks ECS every `poll` seconds which tasks it is stopping; a stopping node
  closes its own sockets (code 1012, clients reconnect) over the stop shed window, so it is done
  before the load balancer would cut them: every client leaves the way the drain closes it, never
  by the load balancer's cut. The app derives its window from the delay (`delay - poll - margin`),
  so the delay needs room for at least `STOP_SHED_MIN_SECONDS` of it.
- The app keeps an idle HTTP connection open longer than the load balancer does (AWS: "ensure
  that the keep-alive timeout is greater than the idle timeout"), so the load balancer never
  sends a request into a connection the app has closed (a 502).
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout
- What is open at SIGTERM (a Fargate Spot interruption sends SIGTERM first) gets Phoenix's
  drainer, then open requests their wait, within stopTimeout less the BEAM's margin
  (`fargate.sigterm_drain_budget`).
"""

from dataclasses import dataclass

from .fargate import check_stop_timeout, sigterm_drain_budget

# How often the slot's leader asks ECS which tasks it stops, and how often a node reads its
# drain switch (DRAIN_POLL_SECONDS in the app's environment).
DRAIN_POLL_SECONDS = 10
# Room left between the end of a stopping node's shed and the end of the deregistration delay
# (the leader's ECS call, a slow last wave, the clients' close handshakes).
STOP_SHED_MARGIN_SECONDS = 10
# The shortest shed of a stopping node that is still gradual.
STOP_SHED_MIN_SECONDS = 20
# How much longer than the load balancer the app keeps an idle connection.
KEEPALIVE_MARGIN_SECONDS = 5
MIN_DEREGISTRATION_DELAY = DRAIN_POLL_SECONDS + STOP_SHED_MIN_SECONDS + STOP_SHED_MARGIN_SECONDS


@dataclass(frozen=True)
class DrainTiming:
    """The timing of one slot, as the load balancer and the task definition set it, and what
    the app derives from it."""

    deregistration_delay_seconds: int
    idle_timeout_seconds: int
    stop_timeout_seconds: int
    poll_seconds: int = DRAIN_POLL_SECONDS

    @property
    def stop_shed_seconds(self) -> int:
        """How long a node ECS stops takes to shed its sockets."""
        return self.deregistration_delay_seconds - self.poll_seconds - STOP_SHED_MARGIN_SECONDS

    @property
    def keepalive_seconds(self) -> int:
        """How long the app keeps an idle HTTP connection open."""
        return self.idle_timeout_seconds + KEEPALIVE_MARGIN_SECONDS

    @property
    def sigterm_seconds(self) -> int:
        """What SIGTERM's socket drain and HTTP drain share before SIGKILL."""
        return sigterm_drain_budget(self.stop_timeout_seconds)


def check_deregistration_delay_for_drain(seconds: int) -> int:
    """The deregistration delay must hold a stopping node's poll, shed and margin."""
    if seconds < MIN_DEREGISTRATION_DELAY:
        raise ValueError(
            f"at least {MIN_DEREGISTRATION_DELAY} s: a node ECS stops needs {DRAIN_POLL_SECONDS} "
            f"s to learn it, {STOP_SHED_MIN_SECONDS} s or more to close its WebSockets gradually "
            f"and a {STOP_SHED_MARGIN_SECONDS} s margin before the load balancer cuts what is "
            "still open"
        )
    return seconds


def check_drain_timing(
    *, deregistration_delay_seconds: int, idle_timeout_seconds: int, stop_timeout_seconds: int
) -> DrainTiming:
    """The inequality above for one slot; raises ValueError naming the value that breaks it."""
    check_deregistration_delay_for_drain(deregistration_delay_seconds)
    check_stop_timeout(stop_timeout_seconds)
    return DrainTiming(
        deregistration_delay_seconds=deregistration_delay_seconds,
        idle_timeout_seconds=idle_timeout_seconds,
        stop_timeout_seconds=stop_timeout_seconds,
    )
