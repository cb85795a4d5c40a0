"""Price a recorded stack: one rule per AWS resource type, quantities taken from recorded inputs.

A rule reads only what the program registered (instance classes, Multi-AZ, storage, node counts,
subnets, desired task counts, ...) and multiplies it by prices from the table. A fixed charge whose
price is not in the table is reported as unpriced, never estimated. Resources AWS does not bill are
listed as free; unknown resource types are unpriced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from offline.mocks import Resource, Run

from .catalog import FREE_PROVIDERS, FREE_TYPES, USAGE_CATALOG
from .context import Context
from .findings import architecture_findings, endpoint_findings
from .model import Free, Line, Report
from .prices import PriceTable

# The catalog and the pricing pass live in their own modules; their names stay importable here.
__all__ = [
    "DEFAULT_TRAFFIC_GB",
    "FREE_PROVIDERS",
    "FREE_TYPES",
    "USAGE_CATALOG",
    "Context",
    "Rule",
    "price_resource",
    "price_run",
]

DEFAULT_TRAFFIC_GB = 20.0
"""GB a month assumed through each interface endpoint when `--traffic-gb` does not say."""

FARGATE_FREE_EPHEMERAL_GB = 20

Rule = Callable[[Resource, Context], None]


def _line(ctx: Context, r: Resource, what: str) -> Line:
    line = Line(r.name, r.type, what)
    ctx.report.lines.append(line)
    return line


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def price_rds_instance(r: Resource, ctx: Context) -> None:
    """RDS: instance-hours and storage, both doubled for Multi-AZ.

    AWS bills a Multi-AZ DB instance per instance-hour for the primary and the standby, and
    storage per GB-month for both ("On-Demand DB instances for Amazon RDS", Multi-AZ DB
    instances: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html).
    """
    engine = r.get("engine")
    if engine != "postgres":
        ctx.unpriced(r.name, r.type, f"engine {engine!r}: only PostgreSQL prices are in the table")
        return
    cls = r.get("instanceClass")
    copies = 2 if _truthy(r.get("multiAz")) else 1
    deployment = "Multi-AZ (primary + standby)" if copies == 2 else "Single-AZ"
    storage_type = r.get("storageType")
    size = float(r.get("allocatedStorage") or 0)
    line = _line(ctx, r, f"RDS PostgreSQL {cls}, {deployment}, {size:g} GB {storage_type or '?'}")
    ctx.charge(line, f"{cls} instance-hours x {copies}", ctx.hours * copies, f"rds.postgres.{cls}")
    if storage_type is None:
        ctx.unpriced(
            r.name, r.type, "storage type not set in the inputs: its default is not priced"
        )
    else:
        ctx.charge(
            line,
            f"{size:g} GB {storage_type} storage x {copies}",
            size * copies,
            f"rds.storage.{storage_type}",
        )
    if r.get("iops") or r.get("storageThroughput"):
        ctx.unpriced(r.name, r.type, "provisioned IOPS/throughput: not in the price table")
    if _truthy(r.get("manageMasterUserPassword")):
        # RDS keeps the managed master password in a Secrets Manager secret billed to the account.
        ctx.charge(line, "RDS-managed master password secret", 1, "secretsmanager.secret")
        ctx.usage("secrets_api", r.name)
    if _truthy(r.get("performanceInsightsEnabled")):
        retention = int(r.get("performanceInsightsRetentionPeriod") or 7)
        if retention > 7:
            ctx.usage("rds_insights", r.name)
    if int(r.get("backupRetentionPeriod") or 0) > 0:
        ctx.usage("rds_backup", r.name)
    if r.get("enabledCloudwatchLogsExports"):
        ctx.usage("logs_ingest", r.name)
    if copies == 2:
        ctx.usage("cross_az", r.name)


def _cache_nodes(r: Resource) -> int:
    if r.get("numCacheClusters"):
        return int(r["numCacheClusters"])
    if r.get("numNodeGroups"):
        return int(r["numNodeGroups"]) * (int(r.get("replicasPerNodeGroup") or 0) + 1)
    return int(r.get("numCacheNodes") or 1)


def price_cache(r: Resource, ctx: Context) -> None:
    """ElastiCache: node type x number of nodes (primary + replicas across node groups)."""
    engine = str(r.get("engine") or "redis")
    node_type = r.get("nodeType")
    nodes = _cache_nodes(r)
    line = _line(ctx, r, f"ElastiCache {engine} {node_type} x {nodes} node(s)")
    ctx.charge(
        line,
        f"{node_type} node-hours x {nodes}",
        ctx.hours * nodes,
        f"elasticache.{engine}.{node_type}",
    )
    if int(r.get("snapshotRetentionLimit") or 0) > 0:
        ctx.usage("elasticache_backup", r.name)
    if nodes > 1:
        ctx.usage("cross_az", r.name)


def price_load_balancer(r: Resource, ctx: Context) -> None:
    """ALB hours plus its public IPv4 addresses: an internet-facing ALB holds one per subnet (AZ).

    Since February 2024 every public IPv4 address is billed, service-managed ones included.
    """
    kind = r.get("loadBalancerType") or "application"
    if kind != "application":
        ctx.unpriced(r.name, r.type, f"{kind} load balancer: not in the price table")
        return
    internal = _truthy(r.get("internal"))
    subnets = list(r.get("subnets") or []) or list(r.get("subnetMappings") or [])
    scheme = "internal" if internal else f"internet-facing, {len(subnets)} AZs"
    line = _line(ctx, r, f"Application Load Balancer, {scheme}")
    ctx.charge(line, "load balancer-hours", ctx.hours, "elb.alb.hour")
    if not internal and subnets:
        ctx.charge(
            line,
            f"{len(subnets)} public IPv4 addresses (one per AZ; more while it scales out)",
            ctx.hours * len(subnets),
            "vpc.public_ipv4",
        )
        ctx.usage("internet_out", r.name)
    ctx.usage("alb_lcu", r.name)


def price_eip(r: Resource, ctx: Context) -> None:
    """An Elastic IP is a public IPv4 address, billed attached or not."""
    line = _line(ctx, r, "Elastic IP address")
    ctx.charge(line, "public IPv4 address", ctx.hours, "vpc.public_ipv4")


def price_nat_gateway(r: Resource, ctx: Context) -> None:
    """NAT gateway hours (its Elastic IP is priced as its own line)."""
    line = _line(ctx, r, f"NAT gateway ({r.get('connectivityType') or 'public'})")
    ctx.charge(line, "NAT gateway-hours", ctx.hours, "vpc.nat_gateway.hour")
    ctx.usage("nat_gb", r.name)
    ctx.usage("internet_out", r.name)


def _public_ip_from_interfaces(interfaces: Iterable[dict[str, Any]]) -> bool | None:
    for nic in interfaces:
        if int(nic.get("deviceIndex") or 0) == 0 and "associatePublicIpAddress" in nic:
            return _truthy(nic["associatePublicIpAddress"])
    return None


def _price_instances(
    ctx: Context,
    line: Line,
    r: Resource,
    count: int,
    instance_type: str | None,
    public_ip: bool,
    volume: dict[str, Any] | None,
    ami: str | None,
) -> None:
    ctx.charge(
        line, f"{instance_type} instance-hours x {count}", ctx.hours * count, f"ec2.{instance_type}"
    )
    if public_ip:
        ctx.charge(line, f"public IPv4 address x {count}", ctx.hours * count, "vpc.public_ipv4")
        ctx.usage("internet_out", r.name)
    if volume and volume.get("volumeSize"):
        kind = volume.get("volumeType") or "gp3"
        size = float(volume["volumeSize"])
        ctx.charge(line, f"{size:g} GB {kind} root volume x {count}", size * count, f"ebs.{kind}")
    else:
        ctx.unpriced(
            r.name,
            r.type,
            f"root EBS volume: its size comes from the AMI ({ami or 'unknown'}), "
            "not from the program's inputs",
        )


def price_autoscaling_group(r: Resource, ctx: Context) -> None:
    """An auto-scaling group: its desired instances as its launch template describes them."""
    spec = r.get("launchTemplate") or {}
    template = ctx.ref(spec.get("id")) or ctx.ref(spec.get("name"))
    count = int(r.get("desiredCapacity") or r.get("minSize") or 0)
    if template is None:
        ctx.unpriced(r.name, r.type, "instances from a launch template that is not in this stack")
        return
    instance_type = template.get("instanceType")
    line = _line(ctx, r, f"EC2 auto-scaling group: {count} x {instance_type}")
    public_ip = _public_ip_from_interfaces(template.get("networkInterfaces") or [])
    if public_ip is None:
        zones = [ctx.ref(s) for s in r.get("vpcZoneIdentifiers") or []]
        public_ip = any(z is not None and _truthy(z.get("mapPublicIpOnLaunch")) for z in zones)
    root = next(
        (m.get("ebs") for m in template.get("blockDeviceMappings") or [] if m.get("ebs")), None
    )
    _price_instances(ctx, line, r, count, instance_type, public_ip, root, template.get("imageId"))


def price_instance(r: Resource, ctx: Context) -> None:
    """A single EC2 instance."""
    instance_type = r.get("instanceType")
    line = _line(ctx, r, f"EC2 instance {instance_type}")
    public_ip = _truthy(r.get("associatePublicIpAddress"))
    _price_instances(
        ctx, line, r, 1, instance_type, public_ip, r.get("rootBlockDevice"), r.get("ami")
    )


def price_vpc_endpoint(r: Resource, ctx: Context) -> None:
    """Interface endpoints bill per AZ (one ENI per subnet); gateway endpoints are free."""
    kind = r.get("vpcEndpointType") or "Gateway"
    service = str(r.get("serviceName") or "")
    if kind == "Gateway":
        ctx.report.free.append(
            Free(r.name, r.type, f"gateway endpoint ({service}): no hourly or data charge")
        )
        return
    if kind != "Interface":
        ctx.unpriced(r.name, r.type, f"{kind} endpoint: not in the price table")
        return
    azs = len(r.get("subnetIds") or [])
    line = _line(ctx, r, f"Interface endpoint {service} in {azs} AZs")
    ctx.charge(
        line, f"endpoint-hours x {azs} AZs", ctx.hours * azs, "privatelink.interface_endpoint.hour"
    )
    ctx.usage("endpoint_gb", r.name)


def _capacity_split(r: Resource, ctx: Context, desired: float) -> dict[str, float] | None:
    """Tasks per capacity provider: `base` tasks first, the rest shared by `weight`."""
    strategies = r.get("capacityProviderStrategies") or []
    if not strategies and r.get("launchType"):
        return {str(r["launchType"]): desired}
    if not strategies:
        # No strategy and no launch type: ECS uses the cluster's default strategy.
        cluster = ctx.ref(r.get("cluster"))
        cluster_name = cluster.get("name") if cluster is not None else r.get("cluster")
        for cp in ctx.run.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"):
            if cp.get("clusterName") == cluster_name:
                strategies = cp.get("defaultCapacityProviderStrategies") or []
                break
    if not strategies:
        return None
    split: dict[str, float] = {}
    remaining = desired
    for s in strategies:
        base = min(float(s.get("base") or 0), remaining)
        if base:
            split[s["capacityProvider"]] = split.get(s["capacityProvider"], 0) + base
            remaining -= base
    total_weight = sum(float(s.get("weight") or 0) for s in strategies)
    for s in strategies:
        weight = float(s.get("weight") or 0)
        if remaining and total_weight:
            share = remaining * weight / total_weight
            split[s["capacityProvider"]] = split.get(s["capacityProvider"], 0) + share
    return split


def _task_shape(td: Resource) -> tuple[float, float, str, str, float]:
    platform = td.get("runtimePlatform") or {}
    arch = str(platform.get("cpuArchitecture") or "X86_64").lower()
    os_family = str(platform.get("operatingSystemFamily") or "LINUX")
    storage = float((td.get("ephemeralStorage") or {}).get("sizeInGib") or 0)
    return float(td["cpu"]) / 1024, float(td["memory"]) / 1024, arch, os_family, storage


def price_ecs_service(r: Resource, ctx: Context) -> None:
    """Fargate tasks: desired count x (vCPU x rate + GB x rate), per architecture and capacity.

    FARGATE_SPOT tasks use the Spot rate (when the table has one for the architecture).
    """
    td = ctx.ref(r.get("taskDefinition"))
    if td is None:
        ctx.unpriced(r.name, r.type, "task definition not in this stack")
        return
    cpu, mem, arch, os_family, storage = _task_shape(td)
    if os_family != "LINUX":
        ctx.unpriced(r.name, r.type, f"{os_family} tasks: not in the price table")
        return
    desired = float(r.get("desiredCount") or 0)
    split = _capacity_split(r, ctx, desired)
    if split is None or any(p not in ("FARGATE", "FARGATE_SPOT") for p in split):
        ctx.unpriced(
            r.name, r.type, "not a Fargate service: billed through its cluster's instances"
        )
        return
    shape = f"{cpu:g} vCPU / {mem:g} GB {arch}"
    line = _line(ctx, r, f"Fargate service: {desired:g} task(s) x {shape}")
    for provider, tasks in split.items():
        if not tasks:
            continue
        prefix = "fargate_spot" if provider == "FARGATE_SPOT" else "fargate"
        kind = "Spot" if provider == "FARGATE_SPOT" else "on-demand"
        ctx.charge(
            line,
            f"{tasks:g} task(s) x {cpu:g} vCPU, {kind}",
            tasks * cpu * ctx.hours,
            f"{prefix}.linux.{arch}.vcpu",
        )
        ctx.charge(
            line,
            f"{tasks:g} task(s) x {mem:g} GB, {kind}",
            tasks * mem * ctx.hours,
            f"{prefix}.linux.{arch}.gb",
        )
        if provider == "FARGATE_SPOT":
            ctx.usage(
                "spot_variance",
                r.name,
                "AWS moves Fargate Spot prices with supply and demand; the table holds one "
                "published snapshot, and the on-demand rate is the ceiling",
            )
    if storage > FARGATE_FREE_EPHEMERAL_GB and desired:
        extra = storage - FARGATE_FREE_EPHEMERAL_GB
        ctx.charge(
            line,
            f"{extra:g} GB ephemeral storage above 20 GB x {desired:g}",
            extra * desired * ctx.hours,
            "fargate.ephemeral_storage.gb",
        )
    name = r.get("name") or r.name
    for target in ctx.run.of_type("aws:appautoscaling/target:Target"):
        if str(target.get("resourceId") or "").endswith(f"/{name}"):
            ceiling = int(target.get("maxCapacity") or 0)
            if ceiling > desired:
                ctx.usage(
                    "autoscaling_tasks",
                    r.name,
                    "each extra task costs what one desired task costs, per hour it runs",
                )
    if r.get("serviceRegistries"):
        ctx.usage("cloudmap", r.name)


def price_task_definition(r: Resource, ctx: Context) -> None:
    """Task definitions are free; one that no service runs is a one-off (migration) task."""
    services = ctx.run.of_type("aws:ecs/service:Service")
    if not any(ctx.ref(s.get("taskDefinition")) is r for s in services):
        ctx.usage("migration_tasks", r.name, "billed per second at the Fargate rates while it runs")
    ctx.report.free.append(Free(r.name, r.type, FREE_TYPES[r.type]))


def price_secret(r: Resource, ctx: Context) -> None:
    """Secrets Manager: per secret-month, each replica counted as a secret."""
    copies = 1 + len(r.get("replicas") or [])
    line = _line(
        ctx, r, "Secrets Manager secret" + (f" + {copies - 1} replica(s)" if copies > 1 else "")
    )
    ctx.charge(line, f"secret-month x {copies}", copies, "secretsmanager.secret")
    ctx.usage("secrets_api", r.name)


def price_kms_key(r: Resource, ctx: Context) -> None:
    line = _line(ctx, r, "KMS customer managed key")
    ctx.charge(line, "key-month", 1, "kms.key")
    if _truthy(r.get("enableKeyRotation")):
        ctx.usage(
            "kms_rotation", r.name, "each automatic rotation adds a backing key at the key price"
        )


def price_alarm(r: Resource, ctx: Context) -> None:
    """CloudWatch alarms bill per alarm metric; a period under 60 s is high resolution."""
    queries = r.get("metricQueries") or []
    metrics = sum(1 for q in queries if q.get("metric")) or 1
    if any(q.get("expression", "").startswith("ANOMALY_DETECTION_BAND") for q in queries):
        ctx.unpriced(r.name, r.type, "anomaly detection alarm: not in the price table")
        return
    periods = [int(r.get("period") or 60)] + [
        int((q.get("metric") or {}).get("period") or 60) for q in queries
    ]
    high_res = min(periods) < 60
    key = "cloudwatch.alarm.high_resolution" if high_res else "cloudwatch.alarm.standard"
    resolution = "high-resolution" if high_res else "standard"
    line = _line(ctx, r, f"CloudWatch alarm ({r.get('metricName') or 'metric math'})")
    ctx.charge(line, f"{metrics} {resolution} alarm metric(s)", metrics, key)


def price_dashboard(r: Resource, ctx: Context) -> None:
    line = _line(ctx, r, "CloudWatch dashboard")
    ctx.charge(line, "dashboard-month", 1, "cloudwatch.dashboard")


def price_hosted_zone(r: Resource, ctx: Context, what: str) -> None:
    line = _line(ctx, r, what)
    ctx.charge(line, "hosted zone-month", 1, "route53.hosted_zone")
    ctx.usage("route53_queries", r.name)


def price_web_acl(r: Resource, ctx: Context) -> None:
    """WAF: the web ACL plus one rule charge per rule or rule group in it."""
    rules = len(r.get("rules") or [])
    line = _line(ctx, r, f"WAF web ACL with {rules} rule(s)")
    ctx.charge(line, "web ACL-month", 1, "waf.web_acl")
    if rules:
        ctx.charge(line, f"{rules} rule(s)", rules, "waf.rule")
    ctx.usage("waf_requests", r.name)


def usage_only(kind: str, reason: str) -> Rule:
    def rule(r: Resource, ctx: Context) -> None:
        ctx.usage(kind, r.name)
        ctx.report.usage_only.append(Free(r.name, r.type, f"no fixed charge; {reason}"))

    return rule


def price_ecs_cluster(r: Resource, ctx: Context) -> None:
    settings = {s.get("name"): s.get("value") for s in r.get("settings") or []}
    insights = settings.get("containerInsights") in ("enabled", "enhanced")
    if insights:
        ctx.usage("container_insights", r.name)
        ctx.report.usage_only.append(
            Free(r.name, r.type, "no fixed charge; Container Insights metrics are billed")
        )
    else:
        ctx.report.free.append(Free(r.name, r.type, "no charge of its own"))


def price_ssm_parameter(r: Resource, ctx: Context) -> None:
    if (r.get("tier") or "Standard") == "Standard":
        ctx.report.free.append(Free(r.name, r.type, "standard parameters have no charge"))
    else:
        ctx.unpriced(r.name, r.type, f"{r.get('tier')} parameter: not in the price table")


RULES: dict[str, Rule] = {
    "aws:rds/instance:Instance": price_rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": price_cache,
    "aws:elasticache/cluster:Cluster": price_cache,
    "aws:lb/loadBalancer:LoadBalancer": price_load_balancer,
    "aws:ec2/eip:Eip": price_eip,
    "aws:ec2/natGateway:NatGateway": price_nat_gateway,
    "aws:autoscaling/group:Group": price_autoscaling_group,
    "aws:ec2/instance:Instance": price_instance,
    "aws:ec2/vpcEndpoint:VpcEndpoint": price_vpc_endpoint,
    "aws:ecs/service:Service": price_ecs_service,
    "aws:ecs/taskDefinition:TaskDefinition": price_task_definition,
    "aws:ecs/cluster:Cluster": price_ecs_cluster,
    "aws:secretsmanager/secret:Secret": price_secret,
    "aws:kms/key:Key": price_kms_key,
    "aws:kms/replicaKey:ReplicaKey": price_kms_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": price_alarm,
    "aws:cloudwatch/dashboard:Dashboard": price_dashboard,
    "aws:route53/zone:Zone": lambda r, ctx: price_hosted_zone(r, ctx, "Route 53 hosted zone"),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": lambda r, ctx: (
        price_hosted_zone(
            r, ctx, "Cloud Map private DNS namespace (a Route 53 private hosted zone)"
        )
    ),
    "aws:servicediscovery/publicDnsNamespace:PublicDnsNamespace": lambda r, ctx: price_hosted_zone(
        r, ctx, "Cloud Map public DNS namespace (a Route 53 hosted zone)"
    ),
    "aws:wafv2/webAcl:WebAcl": price_web_acl,
    "aws:ssm/parameter:Parameter": price_ssm_parameter,
    "aws:cloudwatch/logGroup:LogGroup": lambda r, ctx: (
        usage_only("waf_logs", "WAF's vended logs are billed per GB delivered")(r, ctx)
        if str(r.get("name") or "").startswith("aws-waf-logs-")
        else usage_only("logs_ingest", "logs are billed per GB")(r, ctx)
    ),
    "aws:ec2/flowLog:FlowLog": usage_only("flow_logs", "flow logs are billed per GB delivered"),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": usage_only(
        "waf_logs", "WAF logs are billed per GB delivered (vended logs)"
    ),
    "aws:route53/record:Record": usage_only("route53_queries", "DNS queries are billed"),
    "aws:servicediscovery/service:Service": usage_only("cloudmap", "instances and queries"),
    "aws:ecr/repository:Repository": usage_only("ecr_storage", "image storage is billed per GB"),
    "aws:s3/bucket:Bucket": usage_only("s3_storage", "storage and requests are billed"),
    "aws:s3/bucketV2:BucketV2": usage_only("s3_storage", "storage and requests are billed"),
    "aws:sns/topic:Topic": usage_only("sns", "notifications are billed"),
    "aws:dynamodb/table:Table": usage_only(
        "dynamodb_requests", "on-demand: requests, storage and backups are billed"
    ),
}


def price_resource(r: Resource, ctx: Context) -> None:
    """Price one recorded resource (component resources group others and are skipped)."""
    if not r.custom:
        return
    rule = RULES.get(r.type)
    if rule is not None:
        rule(r, ctx)
        return
    if r.type in FREE_TYPES:
        ctx.report.free.append(Free(r.name, r.type, FREE_TYPES[r.type]))
        return
    provider = r.type.split(":", 1)[0]
    if provider in FREE_PROVIDERS:
        ctx.report.free.append(Free(r.name, r.type, FREE_PROVIDERS[provider]))
        return
    ctx.unpriced(r.name, r.type, "no pricing rule for this resource type")


def price_run(
    run: Run,
    table: PriceTable,
    *,
    stack: str,
    deploy_region: str | None,
    default_traffic_gb: float = DEFAULT_TRAFFIC_GB,
    traffic_overrides: dict[str, float] | None = None,
) -> Report:
    """Price every resource a recorded run registered."""
    report = Report(
        stack=stack,
        deploy_region=deploy_region,
        price_region=table.region,
        hours_per_month=table.hours_per_month,
        default_traffic_gb=default_traffic_gb,
        traffic_overrides=dict(traffic_overrides or {}),
    )
    ctx = Context(run, table, report)
    for r in run.resources:
        price_resource(r, ctx)
    ctx.finish()
    endpoint_findings(ctx)
    architecture_findings(ctx)
    return report
