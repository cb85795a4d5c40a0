"""The smoke test against a real HTTP server on loopback that plays the load balancer.

The fake ALB does what the real listener does with the test route: with the test header from an
operator CIDR it forwards to that slot, otherwise the header is ignored and the live slot answers.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from release_support import NEW, FakeStack, outputs, project_copy

from release.plan import Options, PlanError, plan
from release.runner import ReleaseError, Runner
from release.smoke import SmokeTestError, UnreachableError, WrongSlotError, smoke_test
from release.stack_file import StackFile


class FakeAlb(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), AlbHandler)
        self.live = "blue"
        self.from_operator_cidr = True
        self.test_header = "X-Release-Slot"
        self.response: tuple[int, str, bytes] | None = None  # overrides the slot's answer
        self.seen: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class AlbHandler(BaseHTTPRequestHandler):
    server: FakeAlb

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **dict(self.headers.items())})
        asked = self.headers.get(self.server.test_header)
        slot = asked if asked and self.server.from_operator_cidr else self.server.live
        if self.server.response:
            status, content_type, body = self.server.response
        else:
            status, content_type = 200, "application/json; charset=utf-8"
            body = json.dumps({"status": "ok", "slot": slot, "version": f"{slot}-v1"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server():
    alb = FakeAlb()
    thread = threading.Thread(target=alb.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield alb
    alb.shutdown()
    alb.server_close()


@pytest.fixture
def alb(server):
    server.live, server.from_operator_cidr, server.response = "blue", True, None
    server.test_header = "X-Release-Slot"
    server.seen.clear()
    return server


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_asked_slot_answering_for_itself_passes(alb):
    answer = smoke_test(alb.url, "X-Release-Slot", "green")
    assert (answer.slot, answer.version) == ("green", "green-v1")
    assert alb.seen[0]["path"] == "/health"
    assert alb.seen[0]["X-Release-Slot"] == "green"


def test_the_live_slot_answering_instead_fails(alb):
    alb.from_operator_cidr = False  # the header rule does not match from here
    with pytest.raises(WrongSlotError, match="asked for slot green, but slot blue answered"):
        smoke_test(alb.url, "X-Release-Slot", "green")


def test_the_stack_s_own_test_header_is_the_one_sent(alb):
    alb.test_header = "X-Canary-Slot"
    assert smoke_test(alb.url, "X-Canary-Slot", "green").slot == "green"
    assert alb.seen[0]["X-Canary-Slot"] == "green"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            (503, "text/html", b"<html>Service Unavailable</html>"),
            "HTTP 503",
        ),
        (
            (200, "text/html", b"<html>Welcome to Phoenix!</html>"),
            "expected a JSON health response naming the slot, got text/html",
        ),
        ((200, "application/json", b'{"status":"ok"}'), "the health response does not name a slot"),
        ((200, "application/json", b"not json"), "the body is not JSON"),
        (
            (200, "application/json", b'{"status":"starting","slot":"green"}'),
            "slot green answered with status 'starting'",
        ),
    ],
)
def test_an_answer_that_does_not_prove_the_slot_fails(alb, response, message):
    alb.response = response
    with pytest.raises(SmokeTestError, match=message):
        smoke_test(alb.url, "X-Release-Slot", "green")


def test_nothing_listening_is_an_unreachable_error(closed_port_url):
    with pytest.raises(UnreachableError, match=f"could not reach {closed_port_url}/health"):
        smoke_test(closed_port_url, "X-Release-Slot", "green", timeout=2)


# --- the promote's pre-flight through the runner --------------------------------------------------


def promote_runner(tmp_path, url):
    project = project_copy(tmp_path)
    stack_file = StackFile.for_stack(project, "prod")
    stack_file.change_release(
        {"green.image": NEW, "green.desired_count": 3, "green.run_migrations": False}
    )
    stack = FakeStack(stack_file.path, outputs(url=url))
    lines: list[str] = []
    runner = Runner(
        stack_file=stack_file,
        driver=stack,
        action="promote",
        aws=lambda service: None,
        echo=lines.append,
        sleep=lambda s: None,
    )
    return runner, stack, stack_file, lines


def test_preflight_from_outside_the_operator_cidrs_refuses_with_advice(tmp_path, alb):
    alb.from_operator_cidr = False
    runner, stack, stack_file, _ = promote_runner(tmp_path, alb.url)
    before = stack_file.text()
    with pytest.raises(PlanError) as refused:
        runner.run(plan("promote", stack_file.release(), Options()))
    message = str(refused.value)
    assert "asked for slot green, but slot blue answered" in message
    assert "run the release from an address in that range" in message
    assert "(203.0.113.0/24)" in message
    assert stack.ups == [] and stack_file.text() == before


def test_preflight_that_cannot_connect_refuses_before_any_change(tmp_path, closed_port_url):
    runner, stack, stack_file, _ = promote_runner(tmp_path, closed_port_url)
    with pytest.raises(PlanError, match=r"could not reach .* Nothing was changed"):
        runner.run(plan("promote", stack_file.release(), Options()))
    assert stack.ups == []


def test_a_promote_through_the_real_smoke_test_flips_only_after_the_slot_proved_itself(
    tmp_path, alb
):
    runner, _, stack_file, lines = promote_runner(tmp_path, alb.url)
    runner.run(plan("promote", stack_file.release(), Options()))
    assert stack_file.release()["live"] == "green"
    assert lines.count("      slot green answered: status ok, version green-v1") == 2
    assert len(alb.seen) == 2


def test_a_smoke_test_failure_after_the_migrations_stops_the_promote(tmp_path, alb):
    runner, stack, stack_file, _ = promote_runner(tmp_path, alb.url)
    steps = plan("promote", stack_file.release(), Options())
    original = stack.up

    def up_then_break(message, env=None):
        alb.response = (502, "text/html", b"Bad Gateway")  # the new code fails after migrating
        return original(message, env)

    stack.up = up_then_break  # type: ignore[method-assign]
    with pytest.raises(ReleaseError, match="HTTP 502"):
        runner.run(steps)
    assert stack_file.release()["live"] == "blue"
