"""Resource types, and readers of their properties as the policy engine sends them (read-only
proxies: the abstract Mapping/Sequence types, never dict/list), including who may reach what
through security groups."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Resource

LOAD_BALANCER = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULE = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUP = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
DNS_RECORD = "aws:route53/record:Record"

WORLD = ("0.0.0.0/0", "::/0")
EPMD_PORT = 4369


def _seq(value: Any) -> list[Any]:
    """A list of the items of a sequence property (strings are not sequences here)."""
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return []
    return list(value)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first(value: Any) -> Mapping[str, Any]:
    """A nested block given as an object or (older provider versions) a one-element list."""
    if isinstance(value, Mapping):
        return value
    items = _seq(value)
    return _map(items[0]) if items else {}


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _number(value: Any, default: float | None = None) -> float | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _json(value: Any) -> Any:
    """A JSON-encoded property (container definitions, policy documents), parsed."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _name(resource: Resource) -> str:
    return str(resource.props.get("name") or resource.name)


def _containers(resource: Resource) -> list[Mapping[str, Any]]:
    return [_map(c) for c in _seq(_json(resource.props.get("containerDefinitions")))]


def _is_application_lb(props: Mapping[str, Any]) -> bool:
    return props.get("loadBalancerType") in (None, "application")


def _is_internet_facing(props: Mapping[str, Any]) -> bool:
    return not _true(props.get("internal"))


@dataclass(frozen=True)
class _Ingress:
    """One ingress permission, whatever resource type declares it."""

    owner: Resource
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    security_group_id: Any
    """The group the permission is on (None for inline rules: the owner itself)."""
    sources: tuple[Any, ...]
    """Security groups allowed in (ids), `self` for a self-reference."""

    @property
    def all_ports(self) -> bool:
        return self.protocol in ("-1", "all")

    def covers(self, low: int, high: int | None = None) -> bool:
        high = low if high is None else high
        if self.protocol in ("icmp", "icmpv6", "1", "58"):
            return False
        if self.all_ports:
            return True
        return self.from_port <= high and low <= self.to_port

    @property
    def from_world(self) -> bool:
        return any(c in WORLD for c in self.cidrs)

    def port_text(self) -> str:
        if self.all_ports:
            return "all ports"
        if self.from_port == self.to_port:
            return f"port {self.from_port}"
        return f"ports {self.from_port}-{self.to_port}"


def _ingresses(resource: Resource) -> list[_Ingress]:
    """The ingress permissions a security group, group rule or ingress rule resource declares."""
    props = resource.props

    def port(value: Any) -> int:
        return int(_number(value, 0) or 0)

    if resource.type == INGRESS_RULE:
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c)
        source = props.get("referencedSecurityGroupId")
        return [
            _Ingress(
                resource,
                str(props.get("ipProtocol", "-1")).lower(),
                port(props.get("fromPort")),
                port(props.get("toPort")),
                cidrs,
                props.get("securityGroupId"),
                (source,) if source else (),
            )
        ]
    if resource.type == SECURITY_GROUP_RULE:
        if props.get("type") != "ingress":
            return []
        cidrs = tuple(_seq(props.get("cidrBlocks")) + _seq(props.get("ipv6CidrBlocks")))
        sources = tuple(
            s
            for s in (props.get("sourceSecurityGroupId"), "self" if _true(props.get("self")) else 0)
            if s
        )
        return [
            _Ingress(
                resource,
                str(props.get("protocol", "-1")).lower(),
                port(props.get("fromPort")),
                port(props.get("toPort")),
                cidrs,
                props.get("securityGroupId"),
                sources,
            )
        ]
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        found = []
        for entry in _seq(props.get("ingress")):
            entry = _map(entry)
            cidrs = tuple(_seq(entry.get("cidrBlocks")) + _seq(entry.get("ipv6CidrBlocks")))
            sources = tuple(_seq(entry.get("securityGroups"))) + (
                ("self",) if _true(entry.get("self")) else ()
            )
            found.append(
                _Ingress(
                    resource,
                    str(entry.get("protocol", "-1")).lower(),
                    port(entry.get("fromPort")),
                    port(entry.get("toPort")),
                    cidrs,
                    None,
                    sources,
                )
            )
        return found
    return []


INGRESS_TYPES = (INGRESS_RULE, SECURITY_GROUP_RULE, SECURITY_GROUP)
