"""The stack file launch writes for an app: `stacks/Pulumi.<stack>.yaml` in this checkout, with
the development defaults of the shipped `dev` stack (2 AZs, a NAT instance, one small database,
plain HTTP, no protections), the app's release name and port, and its folder as the image's build
context. It is checked with the program's own settings model before it is written."""

from __future__ import annotations

import os
from pathlib import Path

from launch.app import App

TEMPLATE = """\
# {stack}: {app} ({path}), written by `python -m launch`. Development defaults, as the shipped
# dev stack: 2 AZs, a NAT instance, one small database, plain HTTP on the load balancer's name,
# and nothing protected, so `pulumi destroy` takes it all down. Before production: see
# docs/production.md. Every key: docs/configuration.md.
config:
  aws:region: {region}
  phoenix-aws:stage: development
  phoenix-aws:network:
    az_count: 2
    nat: instance
  phoenix-aws:database:
    instance_class: db.t4g.micro
    multi_az: false
    backup_retention_days: 1
    performance_insights: false
    monitoring_interval_seconds: 0
    deletion_protection: false
    skip_final_snapshot: true
    protect: false
  phoenix-aws:edge:
    plain_http_only: true      # no domain yet: plain HTTP on the load balancer's DNS name
    deletion_protection: false
  phoenix-aws:app:
    name: {app}                # the OTP release: bin/{app}, nodes {app}@<task ip>
    port: {port}
    cpu: 256
    memory: 512
    cpu_architecture: ARM64
    enable_migrations: {migrations}
  phoenix-aws:cluster:
    protect_secrets: false
  phoenix-aws:image:
    context: {context}
    protect: false
  phoenix-aws:release:
    live: blue
    blue:
      image: build             # every `pulumi up` deploys the app as it is in the folder
      desired_count: 1
      max_count: 2
"""


def render(app: App, stack: str, project: Path, region: str = "eu-west-1") -> str:
    # Relative to the project when the app sits inside it (portable across machines), else
    # where it is.
    inside = app.root.is_relative_to(project.resolve())
    context = Path(os.path.relpath(app.root, project)).as_posix() if inside else str(app.root)
    return TEMPLATE.format(
        stack=stack,
        app=app.otp_app,
        path=app.root.name,
        region=region,
        port=4000,
        migrations="true" if app.ecto else "false  # no Ecto repo: no migrations to gate on",
        context=context,
    )
