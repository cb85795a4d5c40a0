"""The release smoke test: prove through the real edge which slot answered.

The ALB's test route forwards `GET /health` with `<test_header>: <slot>` to that slot only from
`edge.operator_cidrs`; from anywhere else the header is ignored and the live slot answers. Every
node's health response names its slot and version (`{"status":"ok","slot":…,"version":…}`), so
the smoke test passes only when the slot it asked for is the one that answered.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

HEALTH_PATH = "/health"


class SmokeTestError(RuntimeError):
    """The slot did not answer for itself through the test route."""


class WrongSlotError(SmokeTestError):
    """Another slot answered: the test route did not match (e.g. not from an operator CIDR)."""


class UnreachableError(SmokeTestError):
    """No HTTP answer at all (DNS, connection refused, timeout)."""


@dataclass(frozen=True)
class HealthAnswer:
    slot: str
    version: str

    def __str__(self) -> str:
        return f"slot {self.slot} answered: status ok, version {self.version or '-'}"


def smoke_test(
    url: str, header: str, slot: str, path: str = HEALTH_PATH, timeout: float = 10
) -> HealthAnswer:
    """GET `url + path` with `header: slot`; return the answer, or raise `SmokeTestError` unless
    the node that answered is healthy and belongs to `slot`."""
    target = url.rstrip("/") + path
    request = urllib.request.Request(
        target, headers={header: slot, "Accept": "application/json", "Cache-Control": "no-cache"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            content_type = response.headers.get_content_type()
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        raise SmokeTestError(
            f"slot {slot} did not pass the smoke test: HTTP {exc.code} from {target}"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnreachableError(f"could not reach {target}: {reason}") from None
    return parse_health(body, content_type, status, slot, target)


def parse_health(
    body: bytes, content_type: str, status: int, slot: str, target: str
) -> HealthAnswer:
    """Check one health response against the slot that was asked for."""
    if status != 200:
        raise SmokeTestError(
            f"slot {slot} did not pass the smoke test: HTTP {status} from {target}"
        )
    if content_type != "application/json":
        raise SmokeTestError(
            f"no slot answered for itself at {target}: expected a JSON health response naming "
            f"the slot, got {content_type or 'no content type'} (is /health the app's health "
            'route, and does it return {"status":"ok","slot":…,"version":…}?)'
        )
    try:
        answer = json.loads(body)
    except ValueError:
        raise SmokeTestError(
            f"no slot answered for itself at {target}: the body is not JSON"
        ) from None
    if not isinstance(answer, dict) or not answer.get("slot"):
        raise SmokeTestError(
            f"no slot answered for itself at {target}: the health response does not name a slot"
        )
    answered = str(answer["slot"])
    if answered != slot:
        raise WrongSlotError(
            f"asked for slot {slot}, but slot {answered} answered: the test route did not "
            f"reach slot {slot}"
        )
    if answer.get("status") != "ok":
        raise SmokeTestError(
            f"slot {slot} answered with status {answer.get('status')!r}, expected 'ok'"
        )
    return HealthAnswer(slot=answered, version=str(answer.get("version") or ""))


def preflight_advice(
    error: SmokeTestError, slot: str, header: str, operator_cidrs: list[str]
) -> str:
    """What to do when the pre-flight request fails, before anything has changed."""
    cidrs = ", ".join(operator_cidrs)
    message = str(error)
    if isinstance(error, WrongSlotError):
        return (
            f"{message}. The {header} header only reaches a slot from edge.operator_cidrs "
            f"({cidrs}): run the release from an address in that range (office network, VPN, "
            "or a CI runner whose egress IP is listed). Nothing was changed."
        )
    if isinstance(error, UnreachableError):
        return (
            f"{message}. The promote smoke-tests slot {slot} through the load balancer before "
            f"anything changes; check your network (and that {cidrs} includes where you run "
            "from). Nothing was changed."
        )
    return f"{message}. Nothing was changed; fix slot {slot} (or deploy again) and retry."
