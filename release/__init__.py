"""The release command and its helpers.

- `python -m release <stack> deploy|promote|drain|rollback|status`: blue-green releases through
  the Pulumi Automation API (see `plan.py` for the pure step planner, `runner.py` for execution).
- `python -m release.migrate_task`: the migration gate's one-off ECS task (run by pulumi-command).
- `python -m release.ecr_tags`: keeps the images the slots run tagged `inuse-…` in ECR.
"""
