"""The development NAT: one small self-healing NAT instance (an auto-scaling group of one) behind a
stable network interface that the private route tables target, instead of a NAT gateway per AZ.
"""

import base64
import hashlib
import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from .policies import arn, ec2_trust, managed_policy_arn

# Amazon Linux 2023 for arm64 (t4g): resolved by the launch template at each launch, so a
# replacement NAT instance always boots the current AMI without a program change.
NAT_INSTANCE_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
# Amazon Linux 2023's images need 8 GiB; a NAT instance stores nothing.
NAT_ROOT_VOLUME_GB = 8


def check_nat_instance_type(instance_type: str) -> str:
    """An arm64 (AWS Graviton) instance type: the NAT instance boots the arm64 Amazon Linux
    image. In EC2's naming a `g` right after the generation digit means Graviton (`t4g`,
    `c7gn`), and `a1` is the first Graviton family.
    https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html"""
    family, _, size = instance_type.partition(".")
    digits = [i for i, c in enumerate(family) if c.isdigit()]
    graviton = family == "a1" or (
        bool(digits) and family[digits[-1] + 1 : digits[-1] + 2] == "g" and family[0].isalpha()
    )
    if not size or not graviton:
        raise ValueError(
            "the NAT instance runs an arm64 image: use an AWS Graviton type such as t4g.nano "
            "or t4g.micro"
        )
    return instance_type


def nat_instance_user_data(eni_id: str) -> str:
    """Cloud-init script that turns a fresh Amazon Linux instance into a NAT for the VPC.

    The instance is replaceable (its auto-scaling group launches a new one), the route target is
    not: it attaches the stable ENI that the private route tables point at as a second
    interface. Traffic from the VPC arrives on that interface and leaves, masqueraded, through
    the primary one, whose address is public. Replies come back on the primary interface, so
    the kernel's reverse-path filter would drop the VPC's packets as arriving on the "wrong"
    interface: it is switched off on every interface (the kernel applies the stricter of `all`
    and the interface's own value, so both are set). Source/destination checks are off on both
    interfaces (the ENI is created without them; the primary one here).
    """
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y iptables-services
IMDS=http://169.254.169.254/latest
TOKEN=$(curl -sX PUT $IMDS/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
MD() {{ curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/$1"; }}
INSTANCE_ID=$(MD instance-id)
REGION=$(MD placement/region)
PRIMARY=$(ip -o route get 1.1.1.1 | awk '{{print $5}}')
sysctl -w net.ipv4.conf.default.rp_filter=0
sysctl -w net.ipv4.conf.all.rp_filter=0
aws ec2 modify-instance-attribute --region "$REGION" --instance-id "$INSTANCE_ID" \
  --no-source-dest-check
aws ec2 attach-network-interface --region "$REGION" --instance-id "$INSTANCE_ID" \
  --network-interface-id {eni_id} --device-index 1
# Wait for the kernel to see the attached interface, then take its name.
for _ in $(seq 1 60); do
  INSIDE=$(ip -o link | awk -F': ' '{{print $2}}' | grep -v -e '^lo$' -e "^$PRIMARY$" | head -n1)
  [ -n "$INSIDE" ] && break
  sleep 2
done
[ -n "$INSIDE" ] || {{ echo "the NAT interface {eni_id} never appeared" >&2; exit 1; }}
ip link set "$INSIDE" up
cat > /etc/sysctl.d/90-nat.conf <<SYSCTL
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.$PRIMARY.rp_filter = 0
net.ipv4.conf.$INSIDE.rp_filter = 0
SYSCTL
sysctl -p /etc/sysctl.d/90-nat.conf
iptables -t nat -A POSTROUTING -o "$PRIMARY" -j MASQUERADE
iptables -F FORWARD
iptables -A FORWARD -i "$INSIDE" -o "$PRIMARY" -j ACCEPT
iptables -A FORWARD -i "$PRIMARY" -o "$INSIDE" -m state --state RELATED,ESTABLISHED -j ACCEPT
service iptables save
systemctl enable --now iptables
"""


def nat_instance_tag(project: str, stack: str, name: str) -> tuple[str, str]:
    """The tag that marks this NAT instance, and only it: its value is a hash of the project, the
    stack and the component's name, so one stack's NAT role cannot touch another stack's NAT
    instance in the same account (IAM matches `aws:ResourceTag/<key>` exactly)."""
    scope = f"{project}/{stack}/{name}"
    return ("phoenix-aws:nat", "nat-" + hashlib.sha256(scope.encode()).hexdigest()[:20])


def nat_instance_policy(eni_arn: str, instances_arn: str, instance_tag: tuple[str, str]) -> dict:
    """The NAT instance may attach only its own stable interface, and modify only instances that
    carry its own tag (itself: its launch template tags every instance it starts; the tag is
    unique to the stack, see `nat_instance_tag`)."""
    key, value = instance_tag
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AttachTheStableInterface",
                "Effect": "Allow",
                "Action": "ec2:AttachNetworkInterface",
                "Resource": eni_arn,
            },
            {
                "Sid": "OnlyItself",
                "Effect": "Allow",
                "Action": ["ec2:AttachNetworkInterface", "ec2:ModifyInstanceAttribute"],
                "Resource": instances_arn,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{key}": value}},
            },
        ],
    }


Tagger = Callable[..., dict[str, str]]
"""`tagged("nat-sg")`: the owner's tags plus `Name: <owner>-nat-sg`."""


def create_nat_instance(
    parent: pulumi.Resource,
    name: str,
    *,
    instance_type: str,
    vpc_id: pulumi.Input[str],
    vpc_cidr: str,
    subnet_id: pulumi.Input[str],
    tagged: Tagger,
    tags: dict[str, str],
) -> aws.ec2.NetworkInterface:
    """A NAT instance in an auto-scaling group of one, behind a stable ENI the routes target.

    Every resource is a child of `parent` and named `<name>-nat-…`."""
    child = pulumi.ResourceOptions(parent=parent)
    sg = _nat_security_group(parent, name, vpc_id, vpc_cidr, tagged)
    eni = aws.ec2.NetworkInterface(
        f"{name}-nat-eni",
        subnet_id=subnet_id,
        security_groups=[sg.id],
        source_dest_check=False,
        tags=tagged("nat-eni"),
        opts=child,
    )
    nat_tag = nat_instance_tag(pulumi.get_project(), pulumi.get_stack(), name)
    profile = _nat_instance_profile(parent, name, eni, nat_tag, tags)
    template = _nat_launch_template(
        parent, name, instance_type, sg, eni, profile, {**tagged("nat"), nat_tag[0]: nat_tag[1]}
    )
    aws.autoscaling.Group(
        f"{name}-nat-asg",
        min_size=1,
        max_size=1,
        desired_capacity=1,
        vpc_zone_identifiers=[subnet_id],
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest"),
        health_check_type="EC2",
        tags=[
            aws.autoscaling.GroupTagArgs(key="Name", value=f"{name}-nat", propagate_at_launch=True)
        ],
        opts=child,
    )
    return eni


def _nat_security_group(
    parent: pulumi.Resource, name: str, vpc_id: pulumi.Input[str], vpc_cidr: str, tagged: Tagger
) -> aws.ec2.SecurityGroup:
    """Anything in from the VPC, anything out to the internet."""
    return aws.ec2.SecurityGroup(
        f"{name}-nat-sg",
        vpc_id=vpc_id,
        description="NAT instance: forward traffic from inside the VPC to the internet",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=[vpc_cidr],
                description="Anything from inside the VPC",
            )
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=["0.0.0.0/0"],
                description="Out to the internet",
            )
        ],
        tags=tagged("nat-sg"),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _nat_instance_profile(
    parent: pulumi.Resource,
    name: str,
    eni: aws.ec2.NetworkInterface,
    nat_tag: tuple[str, str],
    tags: dict[str, str],
) -> aws.iam.InstanceProfile:
    """The instance's role (only EC2 for this account may assume it): Session Manager, and
    attaching its own stable interface only."""
    child = pulumi.ResourceOptions(parent=parent)
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=invoke).partition
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    role = aws.iam.Role(
        f"{name}-nat-role",
        assume_role_policy=account_id.apply(lambda a: json.dumps(ec2_trust(a))),
        tags=tags,
        opts=child,
    )
    # SSM Session Manager instead of SSH: no key pair, no port 22.
    aws.iam.RolePolicyAttachment(
        f"{name}-nat-ssm",
        role=role.name,
        policy_arn=partition.apply(lambda p: managed_policy_arn(p, "AmazonSSMManagedInstanceCore")),
        opts=child,
    )
    instances = pulumi.Output.all(
        partition, aws.get_region_output(opts=invoke).region, account_id
    ).apply(lambda a: arn(a[0], "ec2", a[1], a[2], "instance/*"))
    aws.iam.RolePolicy(
        f"{name}-nat-eni-policy",
        role=role.id,
        policy=pulumi.Output.all(eni.arn, instances).apply(
            lambda a: json.dumps(nat_instance_policy(a[0], a[1], nat_tag))
        ),
        opts=child,
    )
    return aws.iam.InstanceProfile(f"{name}-nat-profile", role=role.name, opts=child)


def _nat_launch_template(
    parent: pulumi.Resource,
    name: str,
    instance_type: str,
    sg: aws.ec2.SecurityGroup,
    eni: aws.ec2.NetworkInterface,
    profile: aws.iam.InstanceProfile,
    instance_tags: pulumi.Input[dict[str, str]],
) -> aws.ec2.LaunchTemplate:
    """Current arm64 Amazon Linux, IMDSv2 only, an encrypted root volume, the NAT script."""
    return aws.ec2.LaunchTemplate(
        f"{name}-nat-lt",
        image_id=f"resolve:ssm:{NAT_INSTANCE_AMI_PARAMETER}",
        instance_type=instance_type,
        # An explicit, encrypted root volume (the AMI's own size otherwise, unencrypted).
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=NAT_ROOT_VOLUME_GB,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        network_interfaces=[
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0,
                associate_public_ip_address="true",
                security_groups=[sg.id],
                delete_on_termination="true",
            )
        ],
        user_data=eni.id.apply(
            lambda eni_id: base64.b64encode(nat_instance_user_data(eni_id).encode()).decode()
        ),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags=instance_tags)
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
