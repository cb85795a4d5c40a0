"""The one-command local stack: `python -m local` (up) and `python -m local down`."""
