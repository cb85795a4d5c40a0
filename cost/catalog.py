"""What the cost report knows besides prices: the usage-based charges it names (and their price
keys), the resource types AWS does not bill, and the providers whose resources are not AWS's."""

from __future__ import annotations

# Usage-based charges: name, the price key of their unit price (None: rate not in the table), unit.
USAGE_CATALOG: dict[str, tuple[str, str | None, str]] = {
    "alb_lcu": ("ALB capacity units (LCUs)", "elb.alb.lcu", "LCU-hour"),
    "nat_gb": ("NAT gateway data processing", "vpc.nat_gateway.gb", "GB"),
    "endpoint_gb": (
        "Interface endpoint data processing",
        "privatelink.interface_endpoint.gb",
        "GB",
    ),
    "internet_out": ("Data transfer out to the internet", "data_transfer.internet_out.gb", "GB"),
    "cross_az": ("Data transfer between Availability Zones", None, "GB"),
    "logs_ingest": (
        "CloudWatch Logs ingestion (storage billed too, for the retention set)",
        "cloudwatch.logs.ingest_gb",
        "GB ingested",
    ),
    "flow_logs": ("VPC flow logs delivered to CloudWatch Logs (vended-log rates)", None, "GB"),
    "container_insights": ("Container Insights metrics", None, "metric-month"),
    "spot_variance": ("Fargate Spot price variance", None, "vCPU-hour / GB-hour"),
    "autoscaling_tasks": ("Tasks autoscaling adds above the desired count", None, "task-hour"),
    "migration_tasks": ("One-off migration tasks (per release)", None, "task-hour"),
    "secrets_api": ("Secrets Manager API calls", "secretsmanager.api_10k", "10,000 calls"),
    "waf_requests": ("WAF requests inspected", "waf.requests_million", "million requests"),
    "waf_logs": (
        "WAF request logs delivered to CloudWatch Logs (vended logs: the first 10 TB a month at "
        "the ingestion rate; blocked and counted requests only, unless all are logged)",
        "cloudwatch.logs.ingest_gb",
        "GB delivered",
    ),
    "route53_queries": ("Route 53 DNS queries", None, "million queries"),
    "cloudmap": ("Cloud Map registered instances and DNS queries", None, "instance-month"),
    "ecr_storage": ("ECR image storage", None, "GB-month"),
    "s3_storage": ("S3 storage and requests (ALB access logs)", None, "GB-month"),
    "rds_backup": ("RDS backup storage beyond the allocated storage", None, "GB-month"),
    "rds_insights": (
        "RDS Performance Insights beyond the free 7-day retention",
        None,
        "vCPU-month",
    ),
    "elasticache_backup": ("ElastiCache snapshot storage", None, "GB-month"),
    "sns": ("SNS notifications", None, "notification"),
    "dynamodb_requests": (
        "DynamoDB on-demand requests and storage (the release lock and history)",
        None,
        "million requests",
    ),
    "kms_rotation": ("KMS key rotations (each rotated backing key)", "kms.key", "key-month"),
}

FREE_TYPES: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "VPCs have no charge",
    "aws:ec2/subnet:Subnet": "subnets have no charge",
    "aws:ec2/routeTable:RouteTable": "route tables have no charge",
    "aws:ec2/route:Route": "routes have no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route tables have no charge",
    "aws:ec2/internetGateway:InternetGateway": "internet gateways have no hourly charge",
    "aws:ec2/securityGroup:SecurityGroup": "security groups have no charge",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups have no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security groups have no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security groups have no charge",
    "aws:ec2/networkInterface:NetworkInterface": (
        "an ENI has no charge (a public IPv4 address on it is priced where it is assigned)"
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": "billed through the instances launched from it",
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:iam/policy:Policy": "IAM has no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM has no charge",
    "aws:iam/instanceProfile:InstanceProfile": "IAM has no charge",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "no charge of its own",
    "aws:ecs/taskDefinition:TaskDefinition": "billed through the tasks that run it",
    "aws:lb/listener:Listener": "billed through the load balancer's LCUs",
    "aws:lb/listenerRule:ListenerRule": "billed through the load balancer's LCUs",
    "aws:lb/targetGroup:TargetGroup": "billed through the load balancer's LCUs",
    "aws:lb/listenerCertificate:ListenerCertificate": "no charge of its own",
    "aws:appautoscaling/target:Target": "Application Auto Scaling has no charge",
    "aws:appautoscaling/policy:Policy": "Application Auto Scaling has no charge",
    "aws:rds/subnetGroup:SubnetGroup": "no charge of its own",
    "aws:rds/parameterGroup:ParameterGroup": "no charge of its own",
    "aws:elasticache/subnetGroup:SubnetGroup": "no charge of its own",
    "aws:elasticache/parameterGroup:ParameterGroup": "no charge of its own",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket settings have no charge",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings have no charge",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings have no charge",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "bucket settings have no charge"
    ),
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": (
        "bucket settings have no charge"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket settings have no charge (SSE-S3)"
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "no charge of its own",
    "aws:sns/topicSubscription:TopicSubscription": "billed as SNS notifications",
    "aws:sns/topicPolicy:TopicPolicy": "a topic setting: no charge of its own",
    "aws:acm/certificate:Certificate": (
        "public ACM certificates are free (https://digitaliceroom.com/aws-cheat-sheet/"
        "aws-security/aws-certificate-manager)"
    ),
    "aws:acm/certificateValidation:CertificateValidation": "a wait for validation, not a resource",
    "aws:secretsmanager/secretVersion:SecretVersion": "included in the secret's monthly price",
    "aws:kms/alias:Alias": "aliases have no charge",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "no charge of its own",
    "aws:wafv2/ruleGroup:RuleGroup": "charged as one rule of each web ACL that uses it",
    "aws:servicediscovery/httpNamespace:HttpNamespace": "no hosted zone behind it",
}

FREE_PROVIDERS: dict[str, str] = {
    "random": "generated by the Pulumi random provider; not an AWS resource",
    "command": "runs on the machine that runs `pulumi up`; not an AWS resource",
    "docker": "built and pushed from the machine that runs `pulumi up`; priced as ECR storage",
}
