"""Other infrastructure repositories reuse the package: it is built into a wheel, installed into a
fresh virtualenv outside this repository, and two programs run under Pulumi's mocks with that
install — nothing imported from this checkout:

- examples/reuse: a service that is not Phoenix, on Network, Database, LoadBalancer and
  TrafficRouting;
- examples/two_apps: two Phoenix apps as `PhoenixApp`s, the second in the first one's network,
  load balancer, ECS cluster and PostgreSQL instance; no name, priority, security group rule,
  role or discovery name of one collides with the other's.
"""

import json
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import harness
import pytest

from offline.mocks import ROOT

PIP = (sys.executable, "-m", "pip")
DRIVER = """
import dataclasses, json, runpy, sys
import yaml
result, runner = sys.argv[1:3]
sys.path.insert(0, runner)  # the copied offline runner
from offline import mocks
import phoenix_aws
recorded = {}
for example, project, stack in json.loads(sys.argv[3]):
    config = yaml.safe_load(open(example + f"/stacks/Pulumi.{stack}.yaml"))["config"]
    program = lambda: runpy.run_path(example + "/__main__.py")
    run = mocks.run(program, config, stack=stack, project=project)
    resources = []
    for r in run.resources:
        record = dataclasses.asdict(r)
        record["secret_inputs"] = sorted(record["secret_inputs"])
        resources.append(record)
    recorded[example] = {
        "package": phoenix_aws.__file__, "resources": resources, "exports": run.exports
    }
json.dump(recorded, open(result, "w"), default=str)
"""


def installed_runner(tmp: Path) -> tuple[Path, Path]:
    """This repository's wheel in a fresh virtualenv (its python), and a copy of the offline
    runner, both outside the checkout."""
    wheels = tmp / "dist"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("phoenix_aws-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [*PIP, "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The package's dependencies (pulumi, pulumi-aws, ...) come from this environment, added as
    # a plain path: its .pth files (this checkout's editable install among them) are not read.
    (target / "dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    runner = tmp / "runner"
    shutil.copytree(ROOT / "offline", runner / "offline")
    return python, runner


def run_examples(tmp: Path, python: Path, runner: Path, *examples: tuple[str, str, str]):
    """Run each examples/<example> (with its project and stack) with the installed package, in
    one fresh interpreter; each one's recorded graph and exports."""
    workdir = tmp / "work"
    for example, _, _ in examples:
        shutil.copytree(ROOT / "examples" / example, workdir / example)
    result = tmp / "recorded.json"
    runs = [(str(workdir / example), project, stack) for example, project, stack in examples]
    done = subprocess.run(
        [python, "-c", DRIVER, str(result), str(runner), json.dumps(runs)],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    recorded = json.loads(result.read_text())
    return [recorded[str(workdir / example)] for example, _, _ in examples]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> list[dict]:
    """Both examples, run by one interpreter of the fresh virtualenv."""
    tmp = tmp_path_factory.mktemp("reuse")
    return run_examples(
        tmp,
        *installed_runner(tmp),
        ("reuse", "metrics-api", "staging"),
        ("two_apps", "storefront", "staging"),
    )


@pytest.fixture(scope="module")
def reuse(recorded) -> dict:
    return recorded[0]


@pytest.fixture(scope="module")
def two_apps(recorded) -> harness.Run:
    (_, run) = recorded
    assert "/venv/lib/" in run["package"]
    resources = [
        harness.Resource(**{**r, "secret_inputs": set(r["secret_inputs"])})
        for r in run["resources"]
    ]
    return harness.Run(resources, run["exports"], set())


def test_the_package_is_the_installed_wheel_not_this_checkout(reuse):
    assert "/venv/lib/" in reuse["package"]
    assert not reuse["package"].startswith(str(ROOT))


def test_the_program_gets_a_network_a_database_and_an_edge(reuse):
    types = {r["type"] for r in reuse["resources"]}
    for component in ("Network", "Database", "LoadBalancer", "TrafficRouting"):
        assert f"phoenix-aws:index:{component}" in types
    assert {
        "aws:ecs/service:Service",
        "aws:rds/instance:Instance",
        "aws:lb/loadBalancer:LoadBalancer",
    } <= types


def test_the_components_follow_the_consumers_settings(reuse):
    by_name = {r["name"]: r["inputs"] for r in reuse["resources"]}
    assert by_name["net-vpc"]["cidrBlock"] == "10.60.0.0/20"
    assert by_name["db-instance"]["engineVersion"] == "16"
    assert by_name["db-instance"]["iamDatabaseAuthenticationEnabled"] is True
    assert by_name["edge-blue"]["port"] == 8080
    assert by_name["edge-blue"]["healthCheck"]["path"] == "/healthz"
    assert reuse["exports"]["url"] == "https://metrics.example.com"


# --- examples/two_apps: two PhoenixApps, the second in the first one's parts -----------------

SHOP_HOST, ADMIN_HOST = "shop.example.com", "admin.example.com"
# What each kind of resource is named by in AWS (within its account and region, or within its
# VPC / namespace for the discovery names): two apps must never pick the same.
PHYSICAL_NAMES = {
    "aws:lb/targetGroup:TargetGroup": "name",
    "aws:iam/role:Role": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:ecr/repository:Repository": "name",
    "aws:ecs/service:Service": "name",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:ssm/parameter:Parameter": "name",
    "aws:secretsmanager/secret:Secret": "namePrefix",
    "aws:rds/instance:Instance": "identifier",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
}


def environment_of(run: harness.Run, app: str) -> dict[str, str]:
    (task,) = [
        t
        for t in run.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if t.name == f"{app}-slot-blue-task"
    ]
    (container,) = json.loads(task["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


def test_the_second_app_joins_the_first_ones_network_load_balancer_cluster_and_instance(two_apps):
    run = two_apps
    for kind in (
        "aws:ec2/vpc:Vpc",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:ecs/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:wafv2/webAcl:WebAcl",
    ):
        assert len(run.of_type(kind)) == 1, kind
    services = {s.name: s for s in run.of_type("aws:ecs/service:Service")}
    assert set(services) == {"shop-slot-blue-service", "admin-slot-blue-service"}
    assert {s["cluster"] for s in services.values()} == {
        harness.mock_arn("aws:ecs/cluster:Cluster", "shop-cluster-ecs")
    }
    groups = run.of_type("aws:lb/targetGroup:TargetGroup")
    assert len(groups) == 4 and {g["vpcId"] for g in groups} == {"shop-network-vpc-id"}
    assert run.exports["url"] == f"https://{SHOP_HOST}"
    assert run.exports["admin"]["url"] == f"https://{ADMIN_HOST}"
    assert environment_of(run, "admin")["PHX_HOST"] == ADMIN_HOST


def test_no_resource_identity_or_physical_name_collides(two_apps):
    urns = [r.urn for r in two_apps.resources]
    assert len(urns) == len(set(urns))
    for kind, key in PHYSICAL_NAMES.items():
        names = [r[key] for r in two_apps.of_type(kind) if r.get(key)]
        assert names and len(names) == len(set(names)), (kind, names)


def test_listener_rules_of_both_apps_have_their_own_priorities_and_hosts(two_apps):
    """AWS refuses two rules of one listener with the same priority; each app's rules carry
    its host, and the second app's sit in its block (1001-1999)."""
    rules = two_apps.of_type("aws:lb/listenerRule:ListenerRule")
    assert {r["listenerArn"] for r in rules} == {
        harness.mock_listener_arn("shop-edge-alb", "shop-edge-https")
    }
    priorities = [int(r["priority"]) for r in rules]
    assert len(priorities) == len(set(priorities))
    for rule in rules:
        app = rule.name.split("-", 1)[0]
        hosts = [c["hostHeader"]["values"] for c in rule["conditions"] if "hostHeader" in c]
        assert hosts == [[SHOP_HOST if app == "shop" else ADMIN_HOST]], rule.name
        if app == "admin":
            assert 1001 <= int(rule["priority"]) <= 1999, rule.name
        assert (
            sum(
                len(c.get(k, {}).get("values", []))
                for c in rule["conditions"]
                for k in ("hostHeader", "pathPattern", "sourceIp", "httpHeader")
            )
            <= 5
        ), rule.name


def test_security_group_rules_do_not_collide_and_open_only_app_paths(two_apps):
    """AWS refuses a rule that duplicates one of the group's (InvalidPermission.Duplicate):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html"""
    rules = [
        r
        for kind in (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        )
        for r in two_apps.of_type(kind)
    ]
    keys = [
        (
            r.type,
            r["securityGroupId"],
            r.get("referencedSecurityGroupId"),
            r.get("cidrIpv4"),
            r.get("fromPort"),
            r.get("toPort"),
            r["ipProtocol"],
        )
        for r in rules
    ]
    assert len(keys) == len(set(keys))
    ingress = {
        (r["securityGroupId"], r.get("referencedSecurityGroupId"), r.get("fromPort"))
        for r in two_apps.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    assert ("admin-nodes-sg-id", "shop-edge-sg-id", 4000.0) in ingress
    assert ("shop-database-sg-id", "admin-nodes-sg-id", 5432.0) in ingress
    # The nodes' distribution ports stay node-to-node within each app.
    assert ("admin-nodes-sg-id", "shop-nodes-sg-id", 9100.0) not in ingress


def test_each_app_reaches_only_its_own_database(two_apps):
    """Both apps use one instance, each with its own database and role: the app's task role may
    log in as its own role only (the role's CONNECT grant keeps it out of the other database:
    tests/test_elixir_database_role.py, on a real PostgreSQL)."""
    shop, admin = environment_of(two_apps, "shop"), environment_of(two_apps, "admin")
    assert shop["DATABASE_HOST"] == admin["DATABASE_HOST"]
    assert (shop["DATABASE_NAME"], shop["DATABASE_USERNAME"]) == ("app", "shop_app")
    assert (admin["DATABASE_NAME"], admin["DATABASE_USERNAME"]) == ("admin", "admin_app")
    for app, role in (("shop", "shop_app"), ("admin", "admin_app")):
        policy = json.loads(two_apps.named(f"{app}-cluster-task-policy")["policy"])
        (login,) = [s for s in policy["Statement"] if s["Action"] == "rds-db:connect"]
        assert [arn.rsplit("/", 1)[1] for arn in login["Resource"]] == [role]


def test_discovery_names_are_the_apps_own_in_one_namespace(two_apps):
    """One private DNS namespace per VPC (Route 53 refuses a second private zone of the same
    name for a VPC; moto refuses any second namespace), the apps' nodes under names of their
    own in it: each app's BEAM cluster finds only its own nodes.
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html"""
    (namespace,) = two_apps.of_type("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    assert namespace["name"] == "shop.staging.storefront.internal"
    services = two_apps.of_type("aws:servicediscovery/service:Service")
    assert sorted(s["name"] for s in services) == ["admin-nodes", "nodes"]
    queries = {app: environment_of(two_apps, app)["DNS_CLUSTER_QUERY"] for app in ("shop", "admin")}
    assert queries == {
        "shop": "nodes.shop.staging.storefront.internal",
        "admin": "admin-nodes.shop.staging.storefront.internal",
    }


def test_the_two_app_graph_breaks_no_mandatory_policy(two_apps):
    from policy.offline import resources_of
    from policy.rules import Context, Enforcement, evaluate

    violations = evaluate(resources_of(two_apps.resources), Context("staging"))
    mandatory = [v for v in violations if v.enforcement is Enforcement.MANDATORY]
    assert mandatory == []


def test_the_program_exports_what_the_release_command_reads_for_each_app(two_apps):
    from phoenix_aws.outputs import RELEASE_OUTPUTS

    assert set(two_apps.exports) >= RELEASE_OUTPUTS
    assert set(two_apps.exports["admin"]) >= RELEASE_OUTPUTS
    assert two_apps.exports["admin"]["slot_services"] == {"blue": "storefront-staging-admin-blue"}
