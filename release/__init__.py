"""The release command: `python -m release <stack> <action>`.

- `deploy|promote|drain|rollback|status`: blue-green releases. `plan.py` is the pure step planner
  (every plan checked with the settings model), `runner.py` executes steps, `stack_file.py` edits
  the stack file (the release state's source of truth), `engine.py` runs `pulumi up` through the
  Automation API, `record.py` commits each kept step on a review branch, `smoke.py` proves which
  slot answered, `waits.py` waits with progress (and for a draining slot's WebSockets).
- `logs|console`: the operator's daily loop (`ops.py`).
"""
