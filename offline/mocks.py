"""Run Pulumi code under mocks and record every resource registration with its inputs and options.

Each run gets a fresh event loop, fresh config, a fresh root stack and fresh mocks, so nothing
leaks between tests. Tests query the record by type and logical name.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import json
import logging
import os
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from phoenix_aws.network import zone_id_prefix
from phoenix_aws.validation import partition_of
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func

from offline.cli import load_yaml
from offline.loop import mock_engine_loop, without_source_positions

PROJECT = "phoenix-aws"
ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
SECRET_SIG = rpc._special_sig_key
SECRET_VALUE = rpc._special_secret_sig

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
AZ_NAMES = [f"{REGION}{letter}" for letter in "abcdef"]


@dataclass
class Resource:
    """One registered resource: its type token, logical name, inputs and resource options."""

    type: str
    name: str
    inputs: dict[str, Any]
    urn: str
    parent: str
    custom: bool
    protect: bool
    dependencies: list[str]
    ignore_changes: list[str]
    delete_before_replace: bool
    retain_on_delete: bool
    replace_on_changes: list[str]
    secret_inputs: set[str] = field(default_factory=set)
    raw_inputs: Any = None
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """Alias specs the resource declares (`type`, `name`, `parentUrn`, ...)."""

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


@dataclass
class Run:
    """What one program run registered and exported."""

    resources: list[Resource]
    exports: dict[str, Any]
    secret_exports: set[str]
    warnings: list[str] = field(default_factory=list)
    """What the program logged with `pulumi.log.warn` (the CLI shows these in every preview)."""

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> Resource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            close = difflib.get_close_matches(name, [r.name for r in self.resources], n=5)
            raise KeyError(f"{len(matches)} resources named {name!r}; close names: {close}")
        return matches[0]

    def maybe(self, name: str) -> Resource | None:
        matches = [r for r in self.resources if r.name == name]
        return matches[0] if matches else None

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def qualified_type(self, resource: Resource) -> str:
        """The type part of the resource's URN as the engine writes it: the parents' types,
        outermost first (the stack itself left out), then its own, joined by `$`."""
        parent = next((r for r in self.resources if r.urn == resource.parent), None)
        return f"{self.qualified_type(parent)}${resource.type}" if parent else resource.type

    def dependencies_of(self, resource: Resource) -> set[str]:
        """Names of every resource `resource` depends on (options and input dependencies)."""
        return {
            self.by_urn(u).name
            for u in resource.dependencies
            if any(r.urn == u for r in self.resources)
        }


def mock_arn(type_token: str, name: str, partition: str = "aws") -> str:
    """The ARN the mocks give a resource of `type_token` named `name` (in `partition`)."""
    kind = type_token.split(":")[-1].lower()
    return f"arn:{partition}:mock:{REGION}:{ACCOUNT_ID}:{kind}/{name}"


def mock_listener_arn(load_balancer: str, name: str, partition: str = "aws") -> str:
    """An ALB listener's ARN names its load balancer, as AWS's do:
    `listener/app/<load balancer>/<id>/<listener id>`."""
    prefix = f"arn:{partition}:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener"
    return f"{prefix}/app/{load_balancer}/abc/{name}"


# Outputs the real providers compute and the program reads back, per resource type.
def _computed_state(
    type_token: str, name: str, inputs: dict[str, Any], partition: str = "aws"
) -> dict[str, Any]:
    arn = mock_arn(type_token, name, partition)
    state: dict[str, Any] = {"arn": arn, "name": inputs.get("name", name), **inputs}
    if type_token == "aws:ec2/vpc:Vpc":
        state["defaultSecurityGroupId"] = f"sg-default-{name}"
    if type_token == "aws:lb/loadBalancer:LoadBalancer":
        state.update(
            dnsName=f"{name}-123.{REGION}.elb.amazonaws.com",
            zoneId="Z32O12XQLNTSW2",
            arnSuffix=f"app/{name}/abc",
        )
    if type_token == "aws:lb/listener:Listener":
        # ALB listener ARNs name their load balancer: listener/app/<lb name>/<lb id>/<id>.
        balancer = str(inputs.get("loadBalancerArn") or "lb").rsplit("/", 1)[-1]
        state["arn"] = mock_listener_arn(balancer, name, partition)
    if type_token == "aws:lb/targetGroup:TargetGroup":
        state["arnSuffix"] = f"targetgroup/{inputs.get('name', name)}/abc"
    if type_token == "aws:rds/instance:Instance":
        state.update(
            address=f"{name}.abc.{REGION}.rds.amazonaws.com",
            port=inputs.get("port", 5432),
            endpoint=f"{name}.abc.{REGION}.rds.amazonaws.com:5432",
            resourceId=f"db-{name.upper().replace('-', '')[:20]}",
            masterUserSecrets=[
                {
                    "secretArn": f"arn:{partition}:secretsmanager:{REGION}:{ACCOUNT_ID}"
                    f":secret:rds!{name}",
                    "secretStatus": "active",
                    "kmsKeyId": "k",
                }
            ],
        )
    if type_token == "aws:elasticache/replicationGroup:ReplicationGroup":
        state.update(
            primaryEndpointAddress=f"master.{name}.abc.cache.amazonaws.com",
            port=inputs.get("port", 6379),
            # ElastiCache names a group's clusters <group id>-001, -002, ...
            memberClusters=[
                f"{inputs.get('replicationGroupId', name)}-{i:03d}"
                for i in range(1, int(inputs.get("numCacheClusters", 1)) + 1)
            ],
        )
    if type_token == "aws:ecr/repository:Repository":
        state["repositoryUrl"] = (
            f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{inputs.get('name', name)}"
        )
    if type_token == "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
        state["hostedZone"] = "Z0HOSTED"
    if type_token == "aws:acm/certificate:Certificate":
        state["domainValidationOptions"] = [
            {
                "domainName": inputs.get("domainName"),
                "resourceRecordName": "_x." + str(inputs.get("domainName")),
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_y.acm-validations.aws.",
            }
        ]
    if type_token == "docker:index/image:Image":
        state["repoDigest"] = f"{inputs.get('imageName', 'img').split(':')[0]}@sha256:{'a' * 64}"
    if type_token == "random:index/randomId:RandomId":
        digest = hashlib.sha256(name.encode()).hexdigest()[: 2 * int(inputs.get("byteLength", 4))]
        state.update(hex=digest, dec=str(int(digest, 16)), b64Url=digest, b64Std=digest)
    if type_token == "random:index/randomPassword:RandomPassword":
        state["result"] = "R" * int(inputs.get("length", 16))
    if type_token == "command:local:Command":
        state.setdefault("stdout", "")
    return state


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(
        self, previous_outputs: dict[str, Any] | None = None, region: str = REGION
    ) -> None:
        super().__init__()
        self.previous_outputs = previous_outputs or {}
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            # This stack's last deployment, as a self-reference reads it.
            state: dict[str, Any] = {
                "name": args.inputs.get("name"),
                "outputs": self.previous_outputs,
                "secretOutputNames": [],
            }
            return str(args.inputs.get("name")), state
        partition = partition_of(self.region)[0]
        return f"{args.name}-id", _computed_state(args.typ, args.name, args.inputs, partition)

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        token = args.token
        if token == "pulumi:pulumi:readStackOutputs":
            # This stack's last deployment, as the engine's built-in provider reads it.
            return {"name": args.args.get("name"), "outputs": self.previous_outputs}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            prefix = zone_id_prefix(self.region)
            return {
                "names": [f"{self.region}{letter}" for letter in "abcdef"],
                "zoneIds": [f"{prefix}-az{i}" for i in range(1, 7)],
                "id": self.region,
            }
        # The partition follows the Region, as the provider reports it (aws-cn for cn-north-1).
        partition, dns_suffix = partition_of(self.region)
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.{dns_suffix}",
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{partition}:iam::{ACCOUNT_ID}:user/test",
                "userId": "U",
                "id": ACCOUNT_ID,
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "partition": partition,
                "dnsSuffix": dns_suffix,
                "reverseDnsPrefix": ".".join(reversed(dns_suffix.split("."))),
                "id": partition,
            }
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": f"arn:{partition}:iam::156460612806:root", "id": "156460612806"}
        if token == "aws:route53/getZone:getZone":
            return {
                "zoneId": "ZPUBLIC",
                "name": args.args.get("name", "example.com"),
                "id": "ZPUBLIC",
            }
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "token",
                "proxyEndpoint": "https://ecr",
                "authorizationToken": "x",
                "id": "x",
            }
        return dict(args.args)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping the resource options it is sent."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.recorded.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    inputs=_unwrap_secrets(rpc.deserialize_properties(request.object)),
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    protect=bool(request.protect),
                    dependencies=list(request.dependencies)
                    + [u for deps in request.propertyDependencies.values() for u in deps.urns],
                    ignore_changes=list(request.ignoreChanges),
                    delete_before_replace=request.deleteBeforeReplace,
                    retain_on_delete=bool(request.retainOnDelete),
                    replace_on_changes=list(request.replaceOnChanges),
                    secret_inputs={k for k, v in raw.items() if _is_secret(v)},
                    raw_inputs=raw,
                    aliases=[
                        alias.get("spec", {})
                        for alias in json_format.MessageToDict(request).get("aliases", [])
                    ],
                )
            )
        return response


def _unwrap_secrets(value: Any) -> Any:
    if _is_secret(value):
        return _unwrap_secrets(value.get("value"))
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def contains_secret_marker(value: Any) -> bool:
    """True when a raw (wire) value is or contains a secret."""
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret_marker(v) for v in value)
    return False


def walk_strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a nested value (JSON strings are walked into as well)."""
    if isinstance(value, str):
        yield value
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                yield from walk_strings(json.loads(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from walk_strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk_strings(v)


def run(
    program: Callable[[], Any],
    config: dict[str, Any] | None = None,
    *,
    stack: str = "test",
    preview: bool = False,
    secret_keys: list[str] | None = None,
    previous_outputs: dict[str, Any] | None = None,
    project: str = PROJECT,
) -> Run:
    """Run `program` under fresh mocks with `config` (full keys, e.g. `phoenix-aws:network`)."""
    with without_source_positions():
        return _run(program, config, stack, preview, secret_keys, previous_outputs, project)


def _run(
    program: Callable[[], Any],
    config: dict[str, Any] | None,
    stack: str,
    preview: bool,
    secret_keys: list[str] | None,
    previous_outputs: dict[str, Any] | None,
    project: str,
) -> Run:
    tasks: list[asyncio.Task[Any]] = []
    loop = mock_engine_loop(tasks)
    asyncio.set_event_loop(loop)
    exports: dict[str, Any] = {}
    try:
        region = str((config or {}).get("aws:region") or REGION)
        mocks = RecordingMocks(previous_outputs, region)
        monitor = RecordingMonitor(mocks)
        given_config = host_config(config, secret_keys)
        given_config.__enter__()
        pulumi_settings.ROOT.set(None)
        pulumi_settings.SETTINGS.rpc_manager.clear()
        pulumi_settings.SETTINGS.outputs.clear()
        warnings: list[str] = []
        logger = logging.getLogger(f"phoenix-aws.offline.{id(warnings)}")
        logger.propagate = False
        logger.handlers = [_ListHandler(warnings)]
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
        )

        original_export = pulumi.export

        def record_export(name: str, value: Any) -> None:
            exports[name] = value

        pulumi.export = record_export  # type: ignore[assignment]
        try:
            loop.run_until_complete(run_pulumi_func(program))
        except Exception as exc:
            exc.recorded = monitor.recorded  # type: ignore[attr-defined]  # what got registered
            raise
        finally:
            pulumi.export = original_export  # type: ignore[assignment]
            given_config.__exit__(None, None, None)
        resolved: dict[str, Any] = {}
        secret: set[str] = set()
        for key, value in exports.items():
            out = pulumi.Output.from_input(value)
            resolved[key] = loop.run_until_complete(out.future())
            if loop.run_until_complete(out.is_secret()):
                secret.add(key)
        return Run(monitor.recorded, resolved, secret, warnings)
    finally:
        # A program that stops early (a refused config) leaves outputs pending: end them here.
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


class _ListHandler(logging.Handler):
    """Keeps the warnings the engine receives (`pulumi.log.warn`)."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.into.append(record.getMessage())


@contextlib.contextmanager
def host_config(
    config: dict[str, Any] | None, secret_keys: list[str] | None = None
) -> Iterator[None]:
    """Hand the program its config as the Pulumi language host does: the SDK's config map and
    secret keys, and the whole map and secret keys in PULUMI_CONFIG(_SECRET_KEYS)."""
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    saved = {k: os.environ.get(k) for k in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
    pulumi.runtime.set_all_config(flat, secret_keys or [])
    os.environ["PULUMI_CONFIG"] = json.dumps(flat)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys or [])
    try:
        yield
    finally:
        pulumi.runtime.set_all_config({}, [])
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` map of `stacks/Pulumi.<stack>.yaml` (values as the stack file has them)."""
    document = load_yaml((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
    return dict(document.get("config") or {})


def stack_names() -> list[str]:
    return sorted(p.name.split(".")[1] for p in STACKS_DIR.glob("Pulumi.*.yaml"))


# The program is deterministic for a given config, stack, last outputs and release flag, and
# callers only read a Run: one run per distinct input serves the whole process.
_RUNS: dict[str, Run] = {}
_ENV_THE_PROGRAM_READS = ("PHOENIX_AWS_RELEASE_CHANGE", "PHOENIX_AWS_RELEASE_EXPECTED")


def run_main(
    config: dict[str, Any],
    *,
    stack: str = "test",
    preview: bool = False,
    previous_outputs: dict[str, Any] | None = None,
    project: str = PROJECT,
) -> Run:
    """Run the real `__main__.py` with a full config map (and this stack's last outputs).

    Runs are cached per distinct input for the life of the process; treat the Run as read-only.
    """
    key = json.dumps(
        [
            config,
            stack,
            preview,
            previous_outputs,
            project,
            [os.environ.get(k) for k in _ENV_THE_PROGRAM_READS],
        ],
        sort_keys=True,
        default=str,
    )
    if key not in _RUNS:
        _RUNS[key] = run(
            lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
            config,
            stack=stack,
            preview=preview,
            previous_outputs=previous_outputs,
            project=project,
        )
    return _RUNS[key]


def with_overrides(config: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` with `phoenix-aws:<section>` maps deep-merged with `sections`."""
    merged = json.loads(json.dumps(config))
    for section, values in sections.items():
        key = f"{PROJECT}:{section}"
        merged[key] = (
            _deep_merge(merged.get(key) or {}, values) if isinstance(values, dict) else values
        )
    return merged


def _deep_merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _deep_merge(base.get(k), v) if k in base else v
        return out
    return extra
