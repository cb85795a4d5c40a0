"""Physical AWS names derived from project, stack and component, within AWS length limits.

Pure functions: tests and the stack model call them without Pulumi.
"""

import hashlib
import re

# AWS limits we hit in practice. Keep them here so every caller uses the same numbers.
TARGET_GROUP_NAME_MAX = 32
LOAD_BALANCER_NAME_MAX = 32
DB_IDENTIFIER_MAX = 63
ELASTICACHE_ID_MAX = 40
IAM_ROLE_NAME_MAX = 64
ECS_NAME_MAX = 255
ECR_NAME_MAX = 256

_HASH_LEN = 6
_INVALID = re.compile(r"[^a-z0-9-]+")


def slug(value: str) -> str:
    """Lower-case `value` and keep only letters, digits and single hyphens."""
    cleaned = _INVALID.sub("-", value.lower())
    return re.sub(r"-{2,}", "-", cleaned).strip("-")


def physical_name(*parts: str, max_length: int) -> str:
    """Join `parts` into a DNS-safe name of at most `max_length` characters.

    A name that fits is returned unchanged. A longer one is cut and ends in a short hash of the
    full name, so it stays unique per (project, stack, component) and stable across updates.
    """
    if max_length < _HASH_LEN + 2:
        raise ValueError(f"max_length must be at least {_HASH_LEN + 2}, got {max_length}")
    full = "-".join(p for p in (slug(part) for part in parts) if p)
    if not full:
        raise ValueError("a physical name needs at least one non-empty part")
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LEN]
    head = full[: max_length - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"
