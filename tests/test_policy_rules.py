"""Every guardrail rule, one compliant and one non-compliant resource (or graph) each.

Properties are built the way the engine hands them to a policy pack: camelCase input names, a
protobuf round trip (numbers become floats) and pulumi-policy's read-only proxies
(`policy.offline.engine_props`). Each rule's docstring names the AWS page it enforces; the
non-compliant case checks the message a user reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UnknownValueError

from policy.offline import engine_props
from policy.rules import (
    RULES,
    Context,
    Enforcement,
    Resource,
    Stack,
    evaluate,
    rule_named,
    secret_looking,
)

PROD = Context("prod", "production")
DEV = Context("dev", "development")


def res(
    type_: str, name: str, props: dict | None = None, deps: tuple[Resource, ...] = ()
) -> Resource:
    """A resource as the policy pack sees it (engine-shaped props, dependencies by URN)."""
    return Resource(
        type=type_,
        name=name,
        props=engine_props(props or {}),
        urn=f"urn:pulumi:test::phoenix-aws::{type_}::{name}",
        dependencies=tuple(d.urn for d in deps),
    )


LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TG = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
CLUSTER = "aws:ecs/cluster:Cluster"
REPO = "aws:ecr/repository:Repository"
DB = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
WAF_ACL = "aws:wafv2/webAcl:WebAcl"
VPC = "aws:ec2/vpc:Vpc"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def containers(**overrides) -> str:
    container = {
        "name": "shop",
        "image": "repo/shop@sha256:" + "a" * 64,
        "user": "1000",
        "environment": [{"name": "PHX_HOST", "value": "app.example.com"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/x"}},
    }
    container.update(overrides)
    return json.dumps([{k: v for k, v in container.items() if v is not None}])


def visibility(metrics: bool = True, sampled: bool = True) -> dict:
    return {
        "cloudwatchMetricsEnabled": metrics,
        "sampledRequestsEnabled": sampled,
        "metricName": "m",
    }


def policy_doc(resource: str, *actions: str) -> str:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def ingress(
    name: str,
    port: int,
    *,
    cidr: str | None = None,
    source: str | None = None,
    group_id: str = "sg-1",
    to_port: int | None = None,
    deps=(),
) -> Resource:
    props: dict = {
        "ipProtocol": "tcp",
        "fromPort": port,
        "toPort": to_port or port,
        "securityGroupId": group_id,
    }
    if cidr:
        props["cidrIpv6" if ":" in cidr else "cidrIpv4"] = cidr
    if source:
        props["referencedSecurityGroupId"] = source
    return res(INGRESS, name, props, deps)


@dataclass(frozen=True)
class Case:
    rule: str
    good: Callable[[], list[Resource]]
    bad: Callable[[], list[Resource]]
    message: str
    context: Context = PROD


def one(type_: str, props: dict) -> Callable[[], list[Resource]]:
    return lambda: [res(type_, "r", props)]


def stack_cases() -> list[Case]:
    def waf(with_association: bool) -> list[Resource]:
        lb = res(LB, "alb", {"loadBalancerType": "application", "internal": False})
        extra = [res("aws:wafv2/webAclAssociation:WebAclAssociation", "waf-assoc", {}, (lb,))]
        return [lb, *(extra if with_association else [])]

    def listener_rules(count: int) -> list[Resource]:
        listener = res(LISTENER, "https", {"protocol": "HTTPS"})
        return [listener] + [
            res(LISTENER_RULE, f"rule-{i}", {"priority": i + 1}, (listener,)) for i in range(count)
        ]

    def log_bucket(waits: bool) -> list[Resource]:
        bucket = res("aws:s3/bucket:Bucket", "logs", {})
        policy = res("aws:s3/bucketPolicy:BucketPolicy", "logs-policy", {}, (bucket,))
        owner = res(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "logs-owner", {}, (bucket,)
        )
        deps = (bucket, policy, owner) if waits else (bucket,)
        lb = res(LB, "alb", {"accessLogs": {"enabled": True, "prefix": "alb"}}, deps)
        return [bucket, policy, owner, lb]

    def ipv6(address_type: str) -> list[Resource]:
        sg = res(SG, "alb-sg", {})
        lb = res(LB, "alb", {"ipAddressType": address_type}, (sg,))
        return [sg, lb, ingress("alb-in-443-v6", 443, cidr="::/0", deps=(sg,))]

    def default_sg(managed: bool) -> list[Resource]:
        vpc = res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"})
        group = res(
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "default-sg",
            {"ingress": [], "egress": []},
            (vpc,),
        )
        return [vpc, group] if managed else [vpc]

    def flow_logs(present: bool) -> list[Resource]:
        vpc = res(VPC, "vpc", {})
        log = res("aws:ec2/flowLog:FlowLog", "flow", {"trafficType": "ALL"}, (vpc,))
        return [vpc, log] if present else [vpc]

    def public_ingress(on_lb_group: bool) -> list[Resource]:
        alb_sg, other = res(SG, "alb-sg", {}), res(SG, "nodes-sg", {})
        lb = res(LB, "alb", {"internal": False}, (alb_sg,))
        target = alb_sg if on_lb_group else other
        return [alb_sg, other, lb, ingress("in-443", 443, cidr="0.0.0.0/0", deps=(target,))]

    def beam(distribution_from_vpc: bool) -> list[Resource]:
        nodes = res(SG, "nodes-sg", {})
        flags = "-kernel inet_dist_listen_min 9100 inet_dist_listen_max 9109"
        task = res(
            TASK,
            "task",
            {
                "containerDefinitions": containers(
                    environment=[{"name": "ERL_AFLAGS", "value": flags}]
                )
            },
        )
        service = res(
            SERVICE,
            "service",
            {"networkConfiguration": {"securityGroups": ["sg-nodes"]}},
            (nodes, task),
        )
        epmd = ingress("epmd-in", 4369, source="sg-nodes", group_id="sg-nodes", deps=(nodes,))
        dist = (
            ingress(
                "dist-in",
                9100,
                to_port=9109,
                cidr="10.0.0.0/16",
                group_id="sg-nodes",
                deps=(nodes,),
            )
            if distribution_from_vpc
            else ingress(
                "dist-in", 9100, to_port=9109, source="sg-nodes", group_id="sg-nodes", deps=(nodes,)
            )
        )
        return [nodes, task, service, epmd, dist]

    def exec_audit(audited: bool) -> list[Resource]:
        group = res(
            LOGS,
            "exec-logs",
            {
                "name": "/ecs/exec",
                "kmsKeyId": "arn:aws:kms:eu-west-1:1:key/k",
                "retentionInDays": 365,
            },
        )
        configuration = (
            {
                "executeCommandConfiguration": {
                    "logging": "OVERRIDE",
                    "logConfiguration": {
                        "cloudWatchLogGroupName": "/ecs/exec",
                        "cloudWatchEncryptionEnabled": True,
                    },
                }
            }
            if audited
            else {"executeCommandConfiguration": {"logging": "DEFAULT"}}
        )
        cluster = res(CLUSTER, "cluster", {"configuration": configuration})
        service = res(SERVICE, "service", {"enableExecuteCommand": True}, (cluster,))
        return [group, cluster, service]

    def role_policies(waits: bool) -> list[Resource]:
        role = res(ROLE, "exec-role", {})
        policy = res(
            ROLE_POLICY,
            "exec-policy",
            {"policy": policy_doc("*", "ecr:GetAuthorizationToken")},
            (role,),
        )
        task = res(TASK, "task", {"containerDefinitions": containers()}, (role,))
        service = res(SERVICE, "service", {}, (task, policy) if waits else (task,))
        return [role, policy, task, service]

    def lifecycle(present: bool) -> list[Resource]:
        repo = res(REPO, "repo", {"imageTagMutability": "IMMUTABLE"})
        policy = res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "repo-lifecycle", {}, (repo,))
        return [repo, policy] if present else [repo]

    def slow_queries(logged: bool) -> list[Resource]:
        parameters = [{"name": "rds.force_ssl", "value": "1"}]
        if logged:
            parameters.append({"name": "log_min_duration_statement", "value": "500"})
        group = res(
            "aws:rds/parameterGroup:ParameterGroup",
            "params",
            {"family": "postgres17", "parameters": parameters},
        )
        return [group, res(DB, "db", {"engine": "postgres"}, (group,))]

    def alarm_topic(usable: bool) -> list[Resource]:
        key_policy = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                }
            ]
        }
        key = res("aws:kms/key:Key", "alarm-key", {"policy": json.dumps(key_policy)})
        topic = (
            res(
                "aws:sns/topic:Topic",
                "alarms",
                {"kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/k"},
                (key,),
            )
            if usable
            else res("aws:sns/topic:Topic", "alarms", {"kmsMasterKeyId": "alias/aws/sns"})
        )
        return [key, topic, res(ALARM, "cpu", {"namespace": "AWS/RDS"}, (topic,))]

    return [
        Case(
            "elb-16-waf-on-public-alb", lambda: waf(True), lambda: waf(False), "has no WAF web ACL"
        ),
        Case(
            "alb-listener-rule-quota",
            lambda: listener_rules(100),
            lambda: listener_rules(101),
            "listener 'https' has 101 rules; AWS allows at most 100",
        ),
        Case(
            "alb-waits-for-log-bucket-policy",
            lambda: log_bucket(True),
            lambda: log_bucket(False),
            "does not wait for 'logs-policy' of its log bucket 'logs'",
        ),
        Case(
            "alb-ipv6-needs-dualstack",
            lambda: ipv6("dualstack"),
            lambda: ipv6("ipv4"),
            "allows IPv6 (::/0) into load balancer 'alb', which is not dual-stack",
        ),
        Case(
            "ec2-2-default-security-group-closed",
            lambda: default_sg(True),
            lambda: default_sg(False),
            "VPC 'vpc' leaves its default security group open",
        ),
        Case(
            "ec2-6-vpc-flow-logs",
            lambda: flow_logs(True),
            lambda: flow_logs(False),
            "VPC 'vpc' records no flow logs",
        ),
        Case(
            "ec2-18-public-ingress-load-balancer-only",
            lambda: public_ingress(True),
            lambda: public_ingress(False),
            "'in-443' opens port 443 to the internet on a security group that no internet-facing",
        ),
        Case(
            "beam-ports-node-to-node-only",
            lambda: beam(False),
            lambda: beam(True),
            "'dist-in' opens distribution ports 9100-9109 on the node security group",
        ),
        Case(
            "ecs-exec-sessions-audited",
            lambda: exec_audit(True),
            lambda: exec_audit(False),
            "cluster 'cluster' allows ECS Exec (service 'service') without recording sessions",
        ),
        Case(
            "ecs-service-waits-for-role-policies",
            lambda: role_policies(True),
            lambda: role_policies(False),
            "service 'service' can start tasks before 'exec-policy'",
        ),
        Case(
            "ecr-3-lifecycle-policy",
            lambda: lifecycle(True),
            lambda: lifecycle(False),
            "repository 'repo' has no lifecycle policy",
        ),
        Case(
            "rds-postgres-slow-query-log",
            lambda: slow_queries(True),
            lambda: slow_queries(False),
            "database 'db' does not log slow statements",
        ),
        Case(
            "sns-alarm-topic-usable-by-cloudwatch",
            lambda: alarm_topic(True),
            lambda: alarm_topic(False),
            "alarm topic 'alarms' is encrypted with alias/aws/sns",
        ),
    ]


def resource_cases() -> list[Case]:
    https = {"protocol": "HTTPS", "certificateArn": "arn:aws:acm:eu-west-1:1:certificate/c"}
    alb = {"loadBalancerType": "application", "internal": False}
    db = {"engine": "postgres", "storageEncrypted": True}
    redis = {"engine": "redis"}
    tg = {"port": 4000, "protocol": "HTTP", "name": "phoenix-aws-prod-blue"}
    container_env = [{"name": "PHX_HOST", "value": "app.example.com"}]
    return [
        Case(
            "elb-1-http-redirects-to-https",
            one(
                LISTENER,
                {
                    "protocol": "HTTP",
                    "defaultActions": [
                        {
                            "type": "redirect",
                            "redirect": {
                                "protocol": "HTTPS",
                                "port": "443",
                                "statusCode": "HTTP_301",
                            },
                        }
                    ],
                },
            ),
            one(
                LISTENER,
                {
                    "protocol": "HTTP",
                    "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}],
                },
            ),
            "HTTP listener 'r' serves plain HTTP",
        ),
        Case(
            "elb-4-drop-invalid-headers",
            one(LB, {**alb, "dropInvalidHeaderFields": True}),
            one(LB, {**alb, "dropInvalidHeaderFields": False}),
            "passes invalid HTTP headers on",
        ),
        Case(
            "elb-5-access-logs",
            one(LB, {**alb, "accessLogs": {"enabled": True, "bucket": "b"}}),
            one(LB, alb),
            "load balancer 'r' keeps no access logs",
        ),
        Case(
            "elb-6-deletion-protection",
            one(LB, {**alb, "enableDeletionProtection": True}),
            one(LB, {**alb, "enableDeletionProtection": False}),
            "can be deleted by mistake",
        ),
        Case(
            "elb-12-desync-mitigation",
            one(LB, {**alb, "desyncMitigationMode": "strictest"}),
            one(LB, {**alb, "desyncMitigationMode": "monitor"}),
            "desync mitigation mode 'monitor'",
        ),
        Case(
            "elb-17-modern-tls-policy",
            one(LISTENER, {**https, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
            one(LISTENER, {**https, "sslPolicy": "ELBSecurityPolicy-2016-08"}),
            "uses security policy ELBSecurityPolicy-2016-08",
        ),
        Case(
            "alb-slow-start-algorithm",
            one(TG, {**tg, "slowStart": 30, "loadBalancingAlgorithmType": "round_robin"}),
            one(
                TG,
                {**tg, "slowStart": 30, "loadBalancingAlgorithmType": "least_outstanding_requests"},
            ),
            "combines slow start (30 s) with the least_outstanding_requests algorithm, which AWS refuses",
        ),
        Case(
            "alb-target-group-name",
            one(TG, tg),
            one(TG, {**tg, "name": "phoenix-aws-production-main-blue-slot"}),
            "has 37 characters; AWS allows at most 32",
        ),
        Case(
            "alb-listener-rule-condition-values",
            one(
                LISTENER_RULE,
                {
                    "conditions": [
                        {"pathPattern": {"values": ["/api/*"]}},
                        {"sourceIp": {"values": [f"10.0.{i}.0/24" for i in range(3)]}},
                    ]
                },
            ),
            one(
                LISTENER_RULE,
                {
                    "conditions": [
                        {"pathPattern": {"values": ["/api/*"]}},
                        {"sourceIp": {"values": [f"10.0.{i}.0/24" for i in range(4)]}},
                    ]
                },
            ),
            "listener rule 'r' has 4 values in one sourceIp condition; AWS allows at most 3",
        ),
        Case(
            "ec2-15-no-automatic-public-ip",
            one("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}),
            one("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}),
            "subnet 'r' gives every network interface launched in it a public IP",
        ),
        Case(
            "ec2-18-public-ingress-web-ports-only",
            lambda: [ingress("r", 443, cidr="0.0.0.0/0")],
            lambda: [ingress("r", 22, cidr="0.0.0.0/0")],
            "'r' allows tcp port 22 from anywhere",
        ),
        Case(
            "ec2-19-no-public-high-risk-ports",
            lambda: [ingress("r", 80, cidr="::/0")],
            lambda: [ingress("r", 5432, cidr="::/0")],
            "'r' exposes high-risk ports (5432) to the internet",
        ),
        Case(
            "nat-instance-arm64",
            one(
                "aws:ec2/launchTemplate:LaunchTemplate",
                {
                    "imageId": "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
                    "instanceType": "t4g.nano",
                },
            ),
            one(
                "aws:ec2/launchTemplate:LaunchTemplate",
                {
                    "imageId": "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
                    "instanceType": "t3.nano",
                },
            ),
            "starts the arm64 image on t3.nano, which is not an arm64 (Graviton) type",
        ),
        Case(
            "iam-no-wildcard-ec2-writes",
            one(
                ROLE_POLICY,
                {
                    "policy": policy_doc(
                        "arn:aws:ec2:eu-west-1:1:network-interface/eni-1",
                        "ec2:AttachNetworkInterface",
                    )
                },
            ),
            one(
                ROLE_POLICY,
                {"policy": policy_doc("*", "ec2:AttachNetworkInterface", "ec2:DescribeInstances")},
            ),
            "allows ec2:AttachNetworkInterface on every resource",
        ),
        Case(
            "ecs-2-no-public-ip",
            one(SERVICE, {"networkConfiguration": {"assignPublicIp": False}}),
            one(SERVICE, {"networkConfiguration": {"assignPublicIp": True}}),
            "service 'r' assigns public IPs to its tasks",
        ),
        Case(
            "ecs-4-not-privileged",
            one(TASK, {"containerDefinitions": containers()}),
            one(TASK, {"containerDefinitions": containers(privileged=True)}),
            "container 'shop' of 'r' runs privileged",
        ),
        Case(
            "ecs-8-no-secrets-in-environment",
            one(TASK, {"containerDefinitions": containers()}),
            one(
                TASK,
                {
                    "containerDefinitions": containers(
                        environment=[
                            *container_env,
                            {"name": "AWS_SECRET_ACCESS_KEY", "value": "x" * 40},
                        ]
                    )
                },
            ),
            "gets AWS_SECRET_ACCESS_KEY as plain environment (its name is one ECS.8 reserves",
        ),
        Case(
            "ecs-9-logging-configured",
            one(TASK, {"containerDefinitions": containers()}),
            one(TASK, {"containerDefinitions": containers(logConfiguration=None)}),
            "container 'shop' of 'r' has no logConfiguration",
        ),
        Case(
            "ecs-12-container-insights",
            one(CLUSTER, {"settings": [{"name": "containerInsights", "value": "enabled"}]}),
            one(CLUSTER, {"settings": [{"name": "containerInsights", "value": "disabled"}]}),
            "cluster 'r' has Container Insights off",
        ),
        Case(
            "ecs-20-non-root-user",
            one(TASK, {"containerDefinitions": containers(user="1000:1000")}),
            one(TASK, {"containerDefinitions": containers(user="root")}),
            "container 'shop' of 'r' runs as root (root)",
        ),
        Case(
            "ecr-1-scan-on-push",
            one(REPO, {"imageScanningConfiguration": {"scanOnPush": True}}),
            one(REPO, {"imageScanningConfiguration": {"scanOnPush": False}}),
            "repository 'r' does not scan images",
        ),
        Case(
            "ecr-2-immutable-tags",
            one(REPO, {"imageTagMutability": "IMMUTABLE"}),
            one(REPO, {"imageTagMutability": "MUTABLE"}),
            "repository 'r' allows overwriting tags",
        ),
        Case(
            "rds-2-not-public",
            one(DB, {**db, "publiclyAccessible": False}),
            one(DB, {**db, "publiclyAccessible": True}),
            "database 'r' is publicly accessible",
        ),
        Case(
            "rds-3-encrypted",
            one(DB, db),
            one(DB, {**db, "storageEncrypted": False}),
            "database 'r' stores data unencrypted",
        ),
        Case(
            "rds-5-multi-az",
            one(DB, {**db, "multiAz": True}),
            one(DB, {**db, "multiAz": False}),
            "database 'r' runs in one Availability Zone",
        ),
        Case(
            "rds-6-enhanced-monitoring",
            one(
                DB,
                {
                    **db,
                    "monitoringInterval": 60,
                    "monitoringRoleArn": "arn:aws:iam::1:role/rds-monitoring",
                },
            ),
            one(DB, db),
            "database 'r' has no enhanced monitoring (monitoringInterval 0)",
        ),
        Case(
            "rds-8-deletion-protection",
            one(DB, {**db, "deletionProtection": True}),
            one(DB, {**db, "deletionProtection": False}),
            "database 'r' can be deleted",
        ),
        Case(
            "rds-9-logs-exported",
            one(DB, {**db, "enabledCloudwatchLogsExports": ["postgresql", "upgrade"]}),
            one(DB, {**db, "enabledCloudwatchLogsExports": ["postgresql"]}),
            "database 'r' does not export its upgrade log to CloudWatch",
        ),
        Case(
            "rds-11-automatic-backups",
            one(DB, {**db, "backupRetentionPeriod": 7}),
            one(DB, {**db, "backupRetentionPeriod": 1}),
            "database 'r' keeps backups for 1 day(s)",
        ),
        Case(
            "rds-13-minor-version-upgrades",
            one(DB, {**db, "autoMinorVersionUpgrade": True}),
            one(DB, {**db, "autoMinorVersionUpgrade": False}),
            "database 'r' never gets minor version upgrades",
        ),
        Case(
            "elasticache-3-automatic-failover",
            one(REDIS, {**redis, "automaticFailoverEnabled": True}),
            one(REDIS, {**redis, "automaticFailoverEnabled": False}),
            "replication group 'r' has no automatic failover",
        ),
        Case(
            "elasticache-4-encrypted-at-rest",
            one(REDIS, {**redis, "atRestEncryptionEnabled": True}),
            one(REDIS, redis),
            "replication group 'r' is not encrypted at rest",
        ),
        Case(
            "elasticache-5-encrypted-in-transit",
            one(REDIS, {**redis, "transitEncryptionEnabled": True}),
            one(REDIS, {**redis, "transitEncryptionEnabled": False}),
            "replication group 'r' is not encrypted in transit",
        ),
        Case(
            "elasticache-alarm-dimensions",
            one(
                ALARM,
                {
                    "namespace": "AWS/ElastiCache",
                    "metricName": "EngineCPUUtilization",
                    "dimensions": {"CacheClusterId": "pubsub-001"},
                },
            ),
            one(
                ALARM,
                {
                    "namespace": "AWS/ElastiCache",
                    "metricName": "EngineCPUUtilization",
                    "dimensions": {"ReplicationGroupId": "pubsub"},
                },
            ),
            "watches EngineCPUUtilization by ReplicationGroupId; ElastiCache publishes it per CacheClusterId",
        ),
        Case(
            "logs-retention-set",
            one(LOGS, {"name": "/ecs/x", "retentionInDays": 30}),
            one(LOGS, {"name": "/ecs/x"}),
            "log group '/ecs/x' keeps its logs forever",
        ),
        Case(
            "waf-10-web-acl-has-rules",
            one(
                WAF_ACL,
                {
                    "rules": [{"name": "a", "visibilityConfig": visibility()}],
                    "visibilityConfig": visibility(),
                },
            ),
            one(WAF_ACL, {"rules": [], "visibilityConfig": visibility()}),
            "web ACL 'r' has no rules",
        ),
        Case(
            "waf-12-rule-metrics",
            one(
                WAF_ACL,
                {
                    "rules": [{"name": "a", "visibilityConfig": visibility()}],
                    "visibilityConfig": visibility(),
                },
            ),
            one(
                WAF_ACL,
                {
                    "rules": [{"name": "a", "visibilityConfig": visibility()}],
                    "visibilityConfig": visibility(sampled=False),
                },
            ),
            "web ACL 'r' does not sample requests",
        ),
    ]


def secret_reader(waits_for_value: bool) -> list[Resource]:
    secret = res("aws:secretsmanager/secret:Secret", "redis-url")
    version = res(
        "aws:secretsmanager/secretVersion:SecretVersion", "redis-url-value", {}, (secret,)
    )
    deps = (secret, version) if waits_for_value else (secret,)
    return [secret, version, res(TASK, "slot-blue-task", {"containerDefinitions": "[]"}, deps)]


def waf_logging(name: str, redacted: tuple[str, ...]) -> list[Resource]:
    acl = res(WAF_ACL, "acl", {"rules": [{"name": "a"}]})
    group = res(LOGS, "waf-logs", {"name": name, "retentionInDays": 30})
    config = res(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "waf-logging",
        {"redactedFields": [{"singleHeader": {"name": h}} for h in redacted]},
        (acl, group),
    )
    return [acl, group, config]


def trust(condition: dict | None) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        **({"Condition": condition} if condition else {}),
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def issue_19_cases() -> list[Case]:
    return [
        Case(
            "ecs-secrets-have-values",
            lambda: secret_reader(True),
            lambda: secret_reader(False),
            "before secret 'redis-url' has a value; make it wait for 'redis-url-value'",
        ),
        Case(
            "waf-11-web-acl-logging",
            lambda: waf_logging("aws-waf-logs-shop-prod", ("authorization", "cookie")),
            lambda: waf_logging("/waf/shop-prod", ("authorization",)),
            "WAF logs to '/waf/shop-prod'; WAF delivers only to log groups named aws-waf-logs-",
        ),
        Case(
            "ecs-service-strategy-changes-in-place",
            one(
                SERVICE,
                {
                    "capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT"}],
                    "forceNewDeployment": True,
                },
            ),
            one(SERVICE, {"capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT"}]}),
            "service 'r' sets a capacity provider strategy without forceNewDeployment",
        ),
        Case(
            "iam-service-trust-scoped",
            one(ROLE, {"assumeRolePolicy": trust({"StringEquals": {"aws:SourceAccount": "1"}})}),
            one(ROLE, {"assumeRolePolicy": trust(None)}),
            "role 'r' lets ecs-tasks.amazonaws.com assume it for any account",
        ),
        Case(
            "aws-physical-names",
            one("aws:s3/bucket:Bucket", {"bucketPrefix": "phoenix-aws-prod-alb-logs-"}),
            one("aws:s3/bucket:Bucket", {"bucketPrefix": "1internal-proj-x-averyveryvery-49d605-"}),
            "bucketPrefix '1internal-proj-x-averyveryvery-49d605-' has 38 characters; AWS allows 37",
        ),
    ]


CASES = {case.rule: case for case in [*resource_cases(), *stack_cases(), *issue_19_cases()]}


def violations_of(rule_name: str, resources: list[Resource], context: Context):
    return evaluate(resources, context, [rule_named(rule_name)])


def test_every_rule_has_a_compliant_and_a_non_compliant_case():
    assert sorted(CASES) == sorted(rule.name for rule in RULES)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_accepts_its_compliant_resource(case: Case):
    """The AWS page each case follows is its rule's `AWS docs:` line (rule.doc_url)."""
    assert violations_of(case.rule, case.good(), case.context) == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_flags_its_non_compliant_resource_with_a_plain_message(case: Case):
    """The AWS page each case follows is its rule's `AWS docs:` line (rule.doc_url)."""
    found = violations_of(case.rule, case.bad(), case.context)
    assert found, f"{case.rule} did not flag its non-compliant case"
    assert all(v.rule == case.rule for v in found)
    assert any(case.message in v.message for v in found), [v.message for v in found]
    assert found[0].enforcement is rule_named(case.rule).enforcement


def test_production_only_rules_do_not_apply_to_development_stacks():
    production_only = [rule for rule in RULES if rule.production_only]
    assert {r.name for r in production_only} == {
        "elb-6-deletion-protection",
        "elb-16-waf-on-public-alb",
        "rds-6-enhanced-monitoring",
    }
    for rule in production_only:
        assert violations_of(rule.name, CASES[rule.name].bad(), DEV) == []


def test_foundational_controls_cite_their_security_hub_page():
    """Each FSBP rule links the Security Hub controls page anchor of its control
    (https://docs.aws.amazon.com/securityhub/latest/userguide/<service>-controls.html#<id>)."""
    for rule in RULES:
        assert rule.doc_url.startswith("https://"), rule.name
        assert rule.description, rule.name
        if rule.control and rule.control != "CloudWatch.16":
            service, number = rule.control.lower().split(".")
            assert rule.doc_url == (
                f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html"
                f"#{service}-{number}"
            ), rule.name
            assert rule.name.startswith(f"{service}-{number}-"), rule.name


def test_security_boundaries_are_mandatory_and_cost_rules_advisory():
    advisory = {r.name for r in RULES if r.enforcement is Enforcement.ADVISORY}
    assert advisory == {
        "elb-1-http-redirects-to-https",
        "elb-5-access-logs",
        "elb-6-deletion-protection",
        "elb-16-waf-on-public-alb",
        "ec2-6-vpc-flow-logs",
        "ecs-12-container-insights",
        "ecr-3-lifecycle-policy",
        "rds-5-multi-az",
        "rds-6-enhanced-monitoring",
        "rds-8-deletion-protection",
        "rds-9-logs-exported",
        "rds-11-automatic-backups",
        "rds-postgres-slow-query-log",
        "elasticache-3-automatic-failover",
        "logs-retention-set",
    }


def test_a_value_unknown_at_preview_is_not_guessed():
    """An unknown property makes the rule raise pulumi-policy's UnknownValueError, which the
    policy runtime reports as "can't run during preview" instead of a wrong verdict."""
    resource = res(LB, "alb", {"dropInvalidHeaderFields": UNKNOWN_BOOLEAN_VALUE})
    with pytest.raises(UnknownValueError):
        rule_named("elb-4-drop-invalid-headers").check_resource(resource, PROD)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_API_KEY", "not-a-key"),
        ("GITHUB_TOKEN", "tok-9f8e7d"),
        ("DB_PASSWORD", "hunter2hunter2"),
        ("SESSION_SECRET_SALT", "pepper-a8f3k2"),
        ("UPSTREAM", "https://user:s3cr3tP4ss@api.example.com/v1"),
        # Assembled at run time so no credential-shaped literal sits in the repository (the key id
        # is the documented example id of the AWS docs).
        ("DEPLOY", "AK" + "IA" + "IOSFODNN7EXAMPLE"),
        ("TLS", "-----BEGIN RSA " + "PRIVATE" + " KEY-----\nMIIE"),
    ],
)
def test_secret_looking_environment_is_flagged_without_echoing_the_value(name, value):
    """ECS.8 (https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-8)."""
    task = res(
        TASK,
        "task",
        {"containerDefinitions": containers(environment=[{"name": name, "value": value}])},
    )
    found = violations_of("ecs-8-no-secrets-in-environment", [task], PROD)
    assert len(found) == 1 and name in found[0].message
    assert value not in found[0].message and value.split("\n")[0] not in found[0].message


@pytest.mark.parametrize(
    "name",
    ["POOL_SIZE", "PHX_HOST", "DATABASE_SSL", "DRAIN_PARAMETER", "DNS_CLUSTER_QUERY", "ERL_AFLAGS"],
)
def test_the_apps_plain_environment_is_not_mistaken_for_secrets(name):
    assert secret_looking(name, "10") is None


def test_world_open_ingress_on_inline_group_rules_is_checked_too():
    """EC2.18/19 read inline `ingress` blocks of aws:ec2/securityGroup as well as rule resources."""
    group = res(
        SG,
        "legacy",
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
    )
    found = evaluate(
        [group],
        PROD,
        [
            rule_named("ec2-18-public-ingress-web-ports-only"),
            rule_named("ec2-19-no-public-high-risk-ports"),
        ],
    )
    assert {v.rule for v in found} == {
        "ec2-18-public-ingress-web-ports-only",
        "ec2-19-no-public-high-risk-ports",
    }


def test_depending_on_a_component_means_waiting_for_its_children():
    """The engine makes a resource that depends on a component wait for the component's children."""
    component = res("phoenix-aws:index:LoadBalancer", "edge")
    child = Resource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "policy",
        engine_props({}),
        urn="urn:child",
        parent=component.urn,
    )
    waiting = res(LB, "alb", {}, (component,))
    assert "urn:child" in Stack([component, child, waiting]).closure(waiting)
