"""The test suite's view of the offline runner (see `offline/mocks.py`)."""

from offline.mocks import *  # noqa: F403
from offline.mocks import (  # noqa: F401 - private helpers some tests use
    _deep_merge,
    _is_secret,
    _unwrap_secrets,
)
