"""Physical AWS names derived from project, stack and component, within what AWS accepts.

Pulumi accepts project and stack names of 1-100 letters, digits, hyphens, underscores and periods
(https://www.pulumi.com/docs/iac/concepts/projects/project-file/ and
https://www.pulumi.com/docs/iac/concepts/stacks/). Every physical name the components derive from
them is made by `physical_name(..., rule=…)` against the `NameRule` of the resource it names, so
it fits AWS's limit for every such name, not only the shipped ones: too long, it is cut and ends
in a hash of the whole name; starting with a digit where AWS wants a letter, or with a prefix AWS
reserves, it gets a lead word.

Pure functions: tests, the stack model and the policy pack's tests call them without Pulumi.
"""

import hashlib
import re
from dataclasses import dataclass

_HASH_LEN = 6
_INVALID = re.compile(r"[^a-z0-9-]+")
# Terraform's `name_prefix`/`bucket_prefix` append a 26-character unique suffix
# (helper/id.UniqueIDSuffixLength), so a prefix may use the name's limit minus 26.
UNIQUE_SUFFIX_LENGTH = 26


@dataclass(frozen=True)
class NameRule:
    """What AWS accepts as one kind of physical name (the page of `doc` defines it)."""

    what: str
    max_length: int
    allowed: str
    """The characters AWS accepts, as the body of a regex character class."""
    allowed_words: str
    """The same in plain words, for messages."""
    doc: str
    min_length: int = 1
    letter_first: bool = False
    """The first character must be a letter."""
    no_hyphen_ends: bool = False
    """Must not begin or end with a hyphen."""
    no_double_hyphen: bool = False
    reserved_prefixes: tuple[str, ...] = ()
    """Prefixes AWS keeps for itself (compared without case)."""
    required_prefix: str = ""
    label_max: int = 0
    """A DNS name: each dot-separated label holds 1 to this many characters (0: not a DNS name)."""
    lead: str = "x"
    """The word `physical_name` puts first when a name would start with a digit or a reserved
    prefix."""

    def problems(self, name: str) -> list[str]:
        """Why AWS would refuse `name` as this kind of name (empty: it accepts it)."""
        found = []
        if not self.min_length <= len(name) <= self.max_length:
            found.append(
                f"{self.what} {name!r} has {len(name)} characters; AWS accepts "
                f"{self.min_length}-{self.max_length}"
            )
        if not re.fullmatch(f"[{self.allowed}]*", name):
            found.append(f"{self.what} {name!r} may hold only {self.allowed_words}")
        if self.letter_first and not name[:1].isalpha():
            found.append(f"{self.what} {name!r} must start with a letter")
        if self.no_hyphen_ends and (name.startswith("-") or name.endswith("-")):
            found.append(f"{self.what} {name!r} must not begin or end with a hyphen")
        if self.no_double_hyphen and "--" in name:
            found.append(f"{self.what} {name!r} must not hold two hyphens in a row")
        for prefix in self.reserved_prefixes:
            if name.lower().startswith(prefix):
                found.append(f"{self.what} {name!r} must not begin with {prefix!r} (AWS's own)")
        if self.required_prefix and not name.startswith(self.required_prefix):
            found.append(f"{self.what} {name!r} must begin with {self.required_prefix!r}")
        if self.label_max and not all(1 <= len(p) <= self.label_max for p in name.split(".")):
            found.append(
                f"{self.what} {name!r} has a label that is empty or longer than {self.label_max}"
            )
        return found

    def check(self, name: str) -> str:
        """`name`, or ValueError saying why AWS would refuse it."""
        problems = self.problems(name)
        if problems:
            raise ValueError("; ".join(problems))
        return name

    def as_prefix(self, what: str | None = None) -> "NameRule":
        """The rule for a Terraform `name_prefix` of this kind of name."""
        return NameRule(
            what=what or f"{self.what} prefix",
            max_length=self.max_length - UNIQUE_SUFFIX_LENGTH,
            allowed=self.allowed,
            allowed_words=self.allowed_words,
            doc=self.doc,
            min_length=self.min_length,
            letter_first=self.letter_first,
            reserved_prefixes=self.reserved_prefixes,
            required_prefix=self.required_prefix,
            lead=self.lead,
        )


_ALNUM_HYPHEN = "letters, digits and hyphens"
_DNS_LOWER = "lower-case letters, digits and hyphens"

LOAD_BALANCER_NAME = NameRule(
    "load balancer name",
    32,
    "A-Za-z0-9-",
    _ALNUM_HYPHEN,
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
    no_hyphen_ends=True,
    reserved_prefixes=("internal-",),
    lead="alb",
)
TARGET_GROUP_NAME = NameRule(
    "target group name",
    32,
    "A-Za-z0-9-",
    _ALNUM_HYPHEN,
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
    no_hyphen_ends=True,
    lead="tg",
)
DB_INSTANCE_IDENTIFIER = NameRule(
    "DB instance identifier",
    63,
    "a-z0-9-",
    _DNS_LOWER,
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html",
    letter_first=True,
    no_hyphen_ends=True,
    no_double_hyphen=True,
    lead="db",
)
DB_SNAPSHOT_IDENTIFIER = NameRule(
    "final snapshot identifier",
    255,
    "A-Za-z0-9-",
    _ALNUM_HYPHEN,
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html",
    letter_first=True,
    no_hyphen_ends=True,
    no_double_hyphen=True,
    lead="db",
)
DB_PARAMETER_GROUP_NAME = NameRule(
    "DB parameter group name",
    255,
    "A-Za-z0-9-",
    _ALNUM_HYPHEN,
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html",
    letter_first=True,
    no_hyphen_ends=True,
    no_double_hyphen=True,
    lead="db",
)
DB_SUBNET_GROUP_NAME = NameRule(
    "DB subnet group name",
    255,
    "a-z0-9._ -",
    "lower-case letters, digits, periods, underscores, spaces and hyphens",
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html",
    reserved_prefixes=("default",),
    lead="db",
)
CACHE_REPLICATION_GROUP_ID = NameRule(
    "ElastiCache replication group id",
    40,
    "a-z0-9-",
    _DNS_LOWER,
    "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html",
    letter_first=True,
    no_hyphen_ends=True,
    no_double_hyphen=True,
    lead="redis",
)
CACHE_SUBNET_GROUP_NAME = NameRule(
    "ElastiCache subnet group name",
    255,
    "a-z0-9-",
    _DNS_LOWER,
    "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html",
    lead="redis",
)
IAM_ROLE_NAME = NameRule(
    "IAM role name",
    64,
    r"\w+=,.@-",
    "letters, digits and + = , . @ _ -",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
)
ECS_NAME = NameRule(
    "ECS cluster, service or task family name",
    255,
    "A-Za-z0-9_-",
    "letters, digits, underscores and hyphens",
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
)
ECR_REPOSITORY_NAME = NameRule(
    "ECR repository name",
    256,
    "a-z0-9._/-",
    "lower-case letters, digits, periods, underscores, hyphens and slashes",
    "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html",
    min_length=2,
    no_hyphen_ends=True,
)
LOG_GROUP_NAME = NameRule(
    "log group name",
    512,
    r"A-Za-z0-9._/#-",
    "letters, digits and . _ / # -",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
)
WAF_LOG_GROUP_NAME = NameRule(
    "WAF log group name",
    512,
    r"A-Za-z0-9._/#-",
    "letters, digits and . _ / # -",
    "https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html",
    required_prefix="aws-waf-logs-",
)
SSM_PARAMETER_NAME = NameRule(
    "SSM parameter name",
    1011,
    "A-Za-z0-9_./-",
    "letters, digits and _ . - /",
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html",
    reserved_prefixes=("aws", "ssm", "/aws", "/ssm"),
    lead="app",
)
SECRET_NAME = NameRule(
    "secret name",
    512,
    "A-Za-z0-9/_+=.@-",
    "letters, digits and / _ + = . @ -",
    "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html",
)
SECRET_NAME_PREFIX = SECRET_NAME.as_prefix()
S3_BUCKET_PREFIX = NameRule(
    "S3 bucket name prefix",
    63 - UNIQUE_SUFFIX_LENGTH,
    "a-z0-9.-",
    "lower-case letters, digits, periods and hyphens",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    reserved_prefixes=("xn--", "sthree-", "amzn-s3-demo-"),
    lead="logs",
)
WAF_NAME = NameRule(
    "WAF web ACL name",
    128,
    r"\w-",
    "letters, digits, underscores and hyphens",
    "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html",
)
WAF_METRIC_NAME = NameRule(
    "WAF metric name",
    128,
    r"\w#:./-",
    "letters, digits and _ # : . / -",
    # 128 is what terraform-provider-aws's validate takes (its wafv2 visibility_config schema),
    # below the API page's own limit.
    "https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html",
)
DASHBOARD_NAME = NameRule(
    "CloudWatch dashboard name",
    255,
    "A-Za-z0-9_-",
    "letters, digits, underscores and hyphens",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
)
DNS_LABEL = NameRule(
    "DNS label",
    63,
    "a-z0-9-",
    _DNS_LOWER,
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html",
    no_hyphen_ends=True,
    lead="n",
)
DNS_NAME = NameRule(
    "private DNS namespace name",
    253,
    "a-z0-9.-",
    "lower-case letters, digits, hyphens and dots",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html",
    label_max=63,
)
DYNAMODB_TABLE_NAME = NameRule(
    "DynamoDB table name",
    255,
    "A-Za-z0-9_.-",
    "letters, digits, underscores, hyphens and dots",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html",
    min_length=3,
)
TAG_VALUE_MAX = 256

# Every physical name the components set, by resource type and input, with the rule AWS applies
# to it: the tests check every such input of a whole stack against this table (and fail on a name
# input that is missing here), and the policy pack holds the graph to the same limits.
RESOURCE_NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("aws:lb/loadBalancer:LoadBalancer", "name"): LOAD_BALANCER_NAME,
    ("aws:lb/targetGroup:TargetGroup", "name"): TARGET_GROUP_NAME,
    ("aws:rds/instance:Instance", "identifier"): DB_INSTANCE_IDENTIFIER,
    ("aws:rds/instance:Instance", "finalSnapshotIdentifier"): DB_SNAPSHOT_IDENTIFIER,
    ("aws:rds/parameterGroup:ParameterGroup", "name"): DB_PARAMETER_GROUP_NAME,
    ("aws:rds/subnetGroup:SubnetGroup", "name"): DB_SUBNET_GROUP_NAME,
    ("aws:elasticache/replicationGroup:ReplicationGroup", "replicationGroupId"): (
        CACHE_REPLICATION_GROUP_ID
    ),
    ("aws:elasticache/subnetGroup:SubnetGroup", "name"): CACHE_SUBNET_GROUP_NAME,
    ("aws:iam/role:Role", "name"): IAM_ROLE_NAME,
    ("aws:ecs/cluster:Cluster", "name"): ECS_NAME,
    ("aws:ecs/service:Service", "name"): ECS_NAME,
    ("aws:ecs/taskDefinition:TaskDefinition", "family"): ECS_NAME,
    ("aws:ecr/repository:Repository", "name"): ECR_REPOSITORY_NAME,
    ("aws:cloudwatch/logGroup:LogGroup", "name"): LOG_GROUP_NAME,
    ("aws:ssm/parameter:Parameter", "name"): SSM_PARAMETER_NAME,
    ("aws:secretsmanager/secret:Secret", "namePrefix"): SECRET_NAME_PREFIX,
    ("aws:s3/bucket:Bucket", "bucketPrefix"): S3_BUCKET_PREFIX,
    ("aws:wafv2/webAcl:WebAcl", "name"): WAF_NAME,
    ("aws:cloudwatch/dashboard:Dashboard", "dashboardName"): DASHBOARD_NAME,
    ("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "name"): DNS_NAME,
    ("aws:servicediscovery/service:Service", "name"): DNS_LABEL,
    ("aws:dynamodb/table:Table", "name"): DYNAMODB_TABLE_NAME,
}

# Kept for callers of the 0.2 API (`physical_name(..., max_length=…)`).
TARGET_GROUP_NAME_MAX = TARGET_GROUP_NAME.max_length
LOAD_BALANCER_NAME_MAX = LOAD_BALANCER_NAME.max_length
DB_IDENTIFIER_MAX = DB_INSTANCE_IDENTIFIER.max_length
ELASTICACHE_ID_MAX = CACHE_REPLICATION_GROUP_ID.max_length
IAM_ROLE_NAME_MAX = IAM_ROLE_NAME.max_length
ECS_NAME_MAX = ECS_NAME.max_length
ECR_NAME_MAX = ECR_REPOSITORY_NAME.max_length


def slug(value: str) -> str:
    """Lower-case `value` and keep only letters, digits and single hyphens."""
    cleaned = _INVALID.sub("-", value.lower())
    return re.sub(r"-{2,}", "-", cleaned).strip("-")


def _cut(full: str, max_length: int) -> str:
    """`full`, or its head and a short hash of all of it when it is longer than `max_length`."""
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LEN]
    head = full[: max_length - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def physical_name(*parts: str, rule: NameRule | None = None, max_length: int | None = None) -> str:
    """Join `parts` into a DNS-safe name (lower-case letters, digits, single hyphens) that AWS
    accepts as `rule` (or of at most `max_length` characters).

    A name that fits is returned unchanged. A longer one is cut and ends in a short hash of the
    full name, so it stays unique per (project, stack, component) and stable across updates. A
    name that starts with a digit where the rule wants a letter, or with a prefix AWS reserves,
    starts with the rule's lead word instead (`db-1shop-prod`, `alb-internal-tools-prod`).
    Parts that hold nothing but punctuation (a stack named `_`) are kept as a short hash.
    """
    limit = rule.max_length if rule else max_length
    if limit is None:
        raise ValueError("give the name's rule or its max_length")
    if limit < _HASH_LEN + 2:
        raise ValueError(f"max_length must be at least {_HASH_LEN + 2}, got {limit}")
    pieces = []
    for part in parts:
        cleaned = slug(part)
        if not cleaned and part:
            cleaned = "n" + hashlib.sha256(part.encode()).hexdigest()[:_HASH_LEN]
        if cleaned:
            pieces.append(cleaned)
    full = "-".join(pieces)
    if not full:
        raise ValueError("a physical name needs at least one non-empty part")
    if rule and _needs_lead(rule, full):
        full = f"{rule.lead}-{full}"
    name = _cut(full, limit)
    if rule:
        rule.check(name)
    return name


def _needs_lead(rule: NameRule, name: str) -> bool:
    if rule.letter_first and not name[:1].isalpha():
        return True
    return any(name.lower().startswith(prefix) for prefix in rule.reserved_prefixes)


def bucket_prefix(*parts: str) -> str:
    """An S3 `bucket_prefix` of `parts` ending in `-` (Terraform appends a 26-character unique
    suffix of digits): at most 37 characters with the hyphen, so the bucket name fits S3's 63.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"""
    room = S3_BUCKET_PREFIX.max_length - 1
    body = physical_name(*parts, max_length=room)
    if _needs_lead(S3_BUCKET_PREFIX, body):
        body = physical_name(S3_BUCKET_PREFIX.lead, body, max_length=room)
    return S3_BUCKET_PREFIX.check(body + "-")


def dns_labels(*parts: str, suffix: str) -> str:
    """A DNS name made of one label per part (`prod.shop.internal`): each part a valid label of
    at most 63 characters (cut with a hash), the whole name at most 253 characters."""
    labels = [physical_name(part, rule=DNS_LABEL) for part in parts]
    name = ".".join([*labels, suffix])
    if len(name) > 253:
        raise ValueError(f"the DNS name {name[:40]}... is longer than 253 characters")
    return name
