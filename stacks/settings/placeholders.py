"""Example values left in a stack file: the shipped stack files (and the docs) use names, networks
and IDs that are reserved for examples, so a copy of them deploys but serves nobody. Each one found
becomes a warning at every preview, naming the key to set.

What counts as an example value, and who reserved it:
- domains under `example.com`/`.net`/`.org` and the `.example`, `.test`, `.invalid` top-level
  domains (RFC 2606, RFC 6761), in host names and e-mail addresses;
- the documentation-only networks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and
  2001:db8::/32 (RFC 3849);
- the account IDs AWS's documentation uses (`123456789012`, `111122223333`, `444455556666`), in
  ARNs and ECR image names;
- the sample Route 53 zone ID and image digests of our own stack files (counting sequences).
"""

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from .errors import line
from .loading import secret_sections
from .stack import StackSettings

EXAMPLE_DOMAIN = re.compile(
    r"(^|[.@])(example\.(com|net|org)|[^.@\s]+\.(example|test|invalid))$", re.IGNORECASE
)
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
EXAMPLE_ACCOUNTS = ("123456789012", "111122223333", "444455556666")
# Counting sequences our own samples use (zone Z0123456789ABCDEFGHIJ, digests 9a8b7c6d…, 1c2d3e4f…).
SAMPLE_SEQUENCES = re.compile(r"0123456789|9a8b7c6d5e4f|1c2d3e4f5a6b|ABCDEFGHIJ", re.IGNORECASE)


def placeholder_warnings(
    settings: StackSettings, secret_keys: frozenset[str] | None = None
) -> list[str]:
    """One line per config value that is still an example: `phoenix-aws:<key>: … set your own`.

    Values of secret config (default: the stack's secret sections) are never shown."""
    hidden = secret_sections() if secret_keys is None else secret_keys
    warnings = []
    for loc, value in _strings(settings.model_dump(mode="json", exclude_defaults=True)):
        reason = why_example(value)
        if reason:
            message = f"still an example value ({reason}); set your own"
            warnings.append(line(loc, message, value, hidden))
    return warnings


def why_example(value: str) -> str | None:
    """Why `value` is an example value, in plain words, or None."""
    host = value.strip().rstrip(".")
    if EXAMPLE_DOMAIN.search(host):
        return "a domain reserved for documentation"
    network = _network(host)
    if network is not None and any(
        network.version == doc.version and network.subnet_of(doc)  # type: ignore[arg-type]
        for doc in DOCUMENTATION_NETWORKS
    ):
        return "an address range reserved for documentation"
    if any(account in value for account in EXAMPLE_ACCOUNTS):
        return "the account ID of AWS's documentation"
    if SAMPLE_SEQUENCES.search(value):
        return "a sample ID"
    return None


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _strings(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, (*loc, key))
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner, loc)
