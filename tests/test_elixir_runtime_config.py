"""config/runtime.exs of examples/phoenix_app, evaluated by Elixir's own Config.Reader under the
exact environment each shipped stack's task definitions provide (from the stack's mock run;
secrets replaced by sample values), checked against what the stack really serves (its outputs,
its container definition, its other resources) rather than against values the app chose."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from elixir import toolchain
from elixir.toolchain import Task
from phoenix_aws.drain_timing import STOP_SHED_MARGIN_SECONDS, STOP_SHED_MIN_SECONDS
from phoenix_aws.release_slot import sigterm_drain_budget

from offline import mocks
from stacks.settings import load_settings

STACKS = toolchain.stacks()
DEFAULT_PORTS = {"http": 80, "https": 443}
SSM_PARAMETER = "aws:ssm/parameter:Parameter"


def settings(stack: str):
    raw = toolchain.stack_config(stack)
    return load_settings(
        {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("phoenix-aws:")}
    )


def shop_config(task: Task) -> dict[str, Any]:
    return toolchain.batch().runtime_config(task.id)["config"]["shop"]


def public_address(stack: str) -> tuple[str, str, int]:
    """(scheme, host, port) of the stack's `url` output: where browsers load the app from."""
    url = urlsplit(toolchain.stack_run(stack).exports["url"])
    assert url.hostname, url
    return url.scheme, url.hostname, url.port or DEFAULT_PORTS[url.scheme]


def services(stack: str) -> list[Task]:
    tasks = toolchain.service_tasks(stack)
    assert tasks, f"{stack}: no slot task definition (slot-<slot>-task) in the mock run"
    return tasks


@pytest.mark.parametrize("stack", STACKS)
def test_each_slot_task_gets_every_variable_of_the_contract(stack):
    redis = settings(stack).pubsub.adapter == "redis"
    for task in services(stack):
        secrets = [*toolchain.SERVICE_SECRETS, *(["REDIS_URL"] if redis else [])]
        assert sorted(set(toolchain.SERVICE_PLAIN) - set(task.plain)) == [], task.id
        assert sorted(set(secrets) - task.secret_names) == [], task.id
        # Secrets only ever arrive as ECS secrets, the app's own login included.
        assert not task.secret_names & set(task.plain), task.id
        assert "DATABASE_PASSWORD" not in task.secret_names | set(task.plain), task.id


@pytest.mark.parametrize("stack", STACKS)
def test_the_migration_task_gets_the_master_credentials_as_secrets(stack):
    admins = toolchain.admin_tasks(stack)
    if settings(stack).app.enable_migrations:
        # Each slot's image is migrated with that slot's config.
        assert sorted(t.slot for t in admins) == sorted(t.slot for t in services(stack))
    for task in admins:
        assert sorted(set(toolchain.ADMIN_PLAIN) - set(task.plain)) == [], task.id
        assert sorted(set(toolchain.ADMIN_SECRETS) - task.secret_names) == [], task.id


@pytest.mark.parametrize("stack", STACKS)
def test_runtime_config_boots_under_each_task_environment(stack):
    for task in [*toolchain.service_tasks(stack), *toolchain.admin_tasks(stack)]:
        toolchain.batch().runtime_config(task.id)


@pytest.mark.parametrize("stack", STACKS)
def test_the_endpoint_url_is_the_address_the_stack_serves(stack):
    scheme, host, port = public_address(stack)
    for task in services(stack):
        url = shop_config(task)["ShopWeb.Endpoint"]["url"]
        assert url == {"scheme": scheme, "host": host, "port": port}, task.id


@pytest.mark.parametrize("stack", STACKS)
def test_sockets_are_accepted_only_from_the_public_origin(stack):
    """A browser's Origin is scheme://host, with the port only when it is not the scheme's
    default (RFC 6454); Phoenix compares scheme, host and port of the two."""
    scheme, host, port = public_address(stack)
    origin = f"{scheme}://{host}" + ("" if DEFAULT_PORTS[scheme] == port else f":{port}")
    for task in services(stack):
        assert shop_config(task)["ShopWeb.Endpoint"]["check_origin"] == [origin], task.id


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_listens_on_the_port_the_container_maps(stack):
    for task in services(stack):
        (mapping,) = task.container["portMappings"]
        http = shop_config(task)["ShopWeb.Endpoint"]["http"]
        assert http["port"] == mapping["containerPort"], task.id
        assert http["ip"] == [0] * 8, "listen on every interface of the task's network"


@pytest.mark.parametrize("stack", STACKS)
def test_the_server_runs_because_the_task_sets_phx_server(stack):
    for task in services(stack):
        assert shop_config(task)["ShopWeb.Endpoint"]["server"] is True, task.id
    without = toolchain.removal_case(toolchain.reference_task(), "PHX_SERVER").id
    endpoint = toolchain.batch().runtime_config(without)["config"]["shop"]["ShopWeb.Endpoint"]
    assert "server" not in endpoint


@pytest.mark.parametrize("stack", STACKS)
def test_the_shutdown_at_sigterm_fits_in_the_tasks_stop_timeout(stack):
    """ECS sends SIGKILL `stopTimeout` seconds after SIGTERM (Amazon ECS Developer Guide,
    container definition `stopTimeout`; at most 120 s on Fargate). Phoenix's socket drainer runs
    first, then the HTTP server waits for open requests; both must end within the budget
    phoenix-aws leaves the app (`sigterm_drain_budget`)."""
    for task in services(stack):
        stop_seconds = task.container["stopTimeout"]
        assert task.plain["STOP_TIMEOUT_SECONDS"] == str(stop_seconds), task.id
        config = shop_config(task)
        socket_ms, http_ms = (config["shutdown"][k] for k in ("socket_drain_ms", "http_drain_ms"))
        http = config["ShopWeb.Endpoint"]["http"]["thousand_island_options"]
        assert http["shutdown_timeout"] == http_ms, task.id
        assert socket_ms > 0 and http_ms > 0, task.id
        assert socket_ms + http_ms <= sigterm_drain_budget(stop_seconds) * 1000, task.id


def load_balancer_timing(task: Task) -> tuple[int, int]:
    """(deregistration delay, idle timeout) of the target group and load balancer the task's
    service is registered with, as the stack's mock run creates them."""
    run = toolchain.stack_run(task.stack)
    service = run.named(f"slot-{task.slot}-service")
    (attachment,) = service["loadBalancers"]
    (group,) = [
        g
        for g in run.of_type("aws:lb/targetGroup:TargetGroup")
        if mocks.mock_arn(g.type, g.name) == attachment["targetGroupArn"]
    ]
    (balancer,) = run.of_type("aws:lb/loadBalancer:LoadBalancer")
    return int(group["deregistrationDelay"]), int(balancer["idleTimeout"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_drain_timing_inequality_holds_between_the_stack_and_the_app(stack):
    """phoenix_aws.drain_timing's inequality, with the load balancer's and the task's numbers
    from the stack's resources and the app's from its evaluated config/runtime.exs:
    poll + stop shed window + margin <= deregistration delay (a node ECS stops closes its own
    sockets before the load balancer cuts them, which it does when the delay ends: Elastic Load
    Balancing User Guide, "Deregistration delay"); idle timeout < the app's keep-alive (AWS:
    the target's keep-alive must exceed the load balancer's idle timeout, or it gets 502s);
    SIGTERM's drains within stopTimeout <= 120 (the test above)."""
    for task in services(stack):
        delay, idle = load_balancer_timing(task)
        drain = shop_config(task)["drain"]
        poll_s, window_s = drain["poll_ms"] / 1000, drain["stop_window_seconds"]
        assert window_s >= STOP_SHED_MIN_SECONDS, task.id
        assert poll_s + window_s + STOP_SHED_MARGIN_SECONDS <= delay, (task.id, poll_s, window_s)
        http = shop_config(task)["ShopWeb.Endpoint"]["http"]["thousand_island_options"]
        assert http["read_timeout"] > idle * 1000, (task.id, http, idle)
        assert task.container["stopTimeout"] <= 120


@pytest.mark.parametrize("stack", STACKS)
def test_the_task_role_may_see_which_of_its_clusters_tasks_ecs_stops(stack):
    """DescribeTasks authorizes on the task ARN `arn:aws:ecs:<region>:<account>:task/<cluster
    name>/<id>` (Service Authorization Reference, Amazon ECS); a node's leader describes the
    tasks of its own service, in the cluster its service runs in."""
    run = toolchain.stack_run(stack)
    for task in services(stack):
        cluster = [
            c
            for c in run.of_type("aws:ecs/cluster:Cluster")
            if mocks.mock_arn(c.type, c.name) == run.named(f"slot-{task.slot}-service")["cluster"]
        ]
        assert len(cluster) == 1, task.id
        region = toolchain.stack_config(stack).get("aws:region", mocks.REGION)
        name = cluster[0]["name"]
        resources = {
            r
            for actions, rs in task_role_allows(task)
            if "ecs:DescribeTasks" in actions
            for r in rs
        }
        expected = f"arn:aws:ecs:{region}:{mocks.ACCOUNT_ID}:task/{name}/*"
        assert resources == {expected}, (task.id, resources)


def rds_bundle_path() -> str:
    dockerfile = (toolchain.APP / "Dockerfile").read_text()
    match = re.search(
        r"-O (\S+) https://truststore\.pki\.rds\.amazonaws\.com/global/global-bundle\.pem",
        dockerfile,
    )
    assert match, "the Dockerfile does not download the RDS CA bundle"
    return match.group(1)


@pytest.mark.parametrize("stack", STACKS)
def test_the_database_connection_verifies_the_rds_certificate(stack):
    """RDS server certificates chain to Amazon's RDS root CAs, not to a public CA: a client
    that verifies them needs AWS's bundle (Amazon RDS User Guide, "Using SSL/TLS to encrypt a
    connection to a DB instance or cluster")."""
    for task in [*services(stack), *toolchain.admin_tasks(stack)]:
        ssl = shop_config(task)["Shop.Repo"]["ssl"]
        assert ssl["verify"] == "verify_peer", task.id
        assert ssl["cacertfile"] == rds_bundle_path(), task.id
        assert ssl["server_name_indication"] == task.plain["DATABASE_HOST"], task.id


@pytest.mark.parametrize("stack", STACKS)
def test_the_database_address_and_pool_come_from_the_task(stack):
    pool_size = int(settings(stack).app.env.get("POOL_SIZE", 10))
    for task in [*services(stack), *toolchain.admin_tasks(stack)]:
        repo = shop_config(task)["Shop.Repo"]
        env = task.environment
        assert repo["hostname"] == env["DATABASE_HOST"], task.id
        assert repo["port"] == int(env["DATABASE_PORT"]), task.id
        assert repo["database"] == env["DATABASE_NAME"], task.id
        assert repo["username"] == env["DATABASE_USERNAME"], task.id
        assert repo["pool_size"] == pool_size, task.id


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_logs_in_as_its_own_role_with_an_iam_token(stack):
    app_name = settings(stack).app.name
    for task in services(stack):
        # The region the task runs in (its logs go there too).
        region = task.container["logConfiguration"]["options"]["awslogs-region"]
        repo = shop_config(task)["Shop.Repo"]
        assert repo["username"] == f"{app_name}_app", task.id
        assert repo["configure"] == ["Shop.Repo.IamAuth", "configure", [{"region": region}]]
        assert "password" not in repo, task.id
        assert toolchain.batch().runtime_config(task.id)["config"]["ex_aws"] == {"region": region}


@pytest.mark.parametrize("stack", STACKS)
def test_the_migration_task_logs_in_with_the_master_password_and_creates_the_app_role(stack):
    app_roles = {shop_config(t)["Shop.Repo"]["username"] for t in services(stack)}
    for task in toolchain.admin_tasks(stack):
        config = shop_config(task)
        assert config["Shop.Repo"]["password"] == toolchain.SAMPLE_SECRETS["DATABASE_PASSWORD"]
        assert "configure" not in config["Shop.Repo"], task.id
        # The role the migration creates is the one the slots log in as.
        assert {config["Shop.Release"]["app_user"]} == app_roles, task.id


@pytest.mark.parametrize("stack", STACKS)
def test_pubsub_uses_the_adapter_the_stack_chose(stack):
    adapter = toolchain.stack_run(stack).exports["pubsub_adapter"]
    for task in services(stack):
        pubsub = shop_config(task)["pubsub"]
        if adapter == "redis":
            assert pubsub == {
                "adapter": "Phoenix.PubSub.Redis",
                "redis_opts": toolchain.SAMPLE_SECRETS["REDIS_URL"],
            }, task.id
        else:
            # Phoenix.PubSub's default adapter, over Erlang distribution.
            assert adapter == "erlang" and pubsub == [], task.id


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_look_for_each_other_under_the_stacks_discovery_name(stack):
    queries = toolchain.stack_run(stack).exports["dns_cluster_queries"]
    for task in services(stack):
        assert shop_config(task)["dns_cluster_query"] == queries[task.slot], task.id


@pytest.mark.parametrize("stack", STACKS)
def test_health_names_the_slot_and_version_of_the_task(stack):
    for task in services(stack):
        health = toolchain.batch().runtime_config(task.id)["health"]
        assert health == {
            "status": "ok",
            "slot": task.slot,
            "version": task.plain["RELEASE_VERSION"],
        }, task.id


@pytest.mark.parametrize("stack", STACKS)
def test_each_slot_polls_its_own_drain_parameter_and_it_exists(stack):
    run = toolchain.stack_run(stack)
    parameters = {r.get("name") for r in run.of_type(SSM_PARAMETER)}
    polled = {}
    for task in services(stack):
        name = shop_config(task)["drain"]["parameter"]
        assert name == task.plain["DRAIN_PARAMETER"], task.id
        assert name in parameters, f"{task.id}: no SSM parameter {name!r} in the stack"
        polled[task.slot] = name
    assert len(set(polled.values())) == len(polled), f"slots share a parameter: {polled}"


def as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def task_role_allows(task: Task) -> list[tuple[set[str], set[str]]]:
    """(actions, resources) of every Allow statement of the task role's inline policies."""
    run = toolchain.stack_run(task.stack)
    role_arn = run.named(task.definition)["taskRoleArn"]
    (role,) = [
        r for r in run.of_type("aws:iam/role:Role") if mocks.mock_arn(r.type, r.name) == role_arn
    ]
    allowed = []
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy["role"] != f"{role.name}-id":  # the mocks' id of the role
            continue
        for statement in json.loads(policy["policy"])["Statement"]:
            if statement["Effect"] == "Allow":
                allowed.append((as_set(statement["Action"]), as_set(statement["Resource"])))
    return allowed


@pytest.mark.parametrize("stack", STACKS)
def test_the_task_role_may_log_in_as_the_user_the_app_logs_in_as(stack):
    """IAM database authentication needs `rds-db:connect` on
    `arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<db user>` (Amazon RDS User
    Guide, "Creating and using an IAM policy for IAM database access")."""
    for task in services(stack):
        user = shop_config(task)["Shop.Repo"]["username"]
        resources = {
            r for actions, rs in task_role_allows(task) if "rds-db:connect" in actions for r in rs
        }
        assert any(
            re.fullmatch(rf"arn:aws:rds-db:[\w-]+:\d{{12}}:dbuser:[^/*]+/{user}", r)
            for r in resources
        ), f"{task.id}: the task role may not connect as {user}: {sorted(resources)}"


@pytest.mark.parametrize("stack", STACKS)
def test_the_task_role_may_read_the_drain_parameter_the_app_polls(stack):
    run = toolchain.stack_run(stack)
    for task in services(stack):
        name = shop_config(task)["drain"]["parameter"]
        (parameter,) = [p for p in run.of_type(SSM_PARAMETER) if p.get("name") == name]
        arn = mocks.mock_arn(parameter.type, parameter.name)
        readable = {
            r for actions, rs in task_role_allows(task) if "ssm:GetParameter" in actions for r in rs
        }
        assert arn in readable, f"{task.id}: the task role may not read {name}"


# The embedded metric format's structure, as the AWS spec states it ("Specification: Embedded
# metric format", Amazon CloudWatch User Guide): the members, the 1-255 character names, at most
# 9 dimension keys per set, at most 100 metrics, the valid units.
EMF_UNITS = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
]
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer"},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": NAME,
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "array", "maxItems": 9, "items": NAME},
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {"Name": NAME, "Unit": {"enum": EMF_UNITS}},
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


@pytest.mark.parametrize("stack", STACKS)
def test_the_socket_metric_line_is_embedded_metric_format_for_the_stacks_metric(stack):
    """The line the node writes with the task's config: valid EMF (AWS's spec: the schema, and
    dimension targets are strings, metric targets numbers), and the metric the stack's
    `socket_metric` output says the release command and the dashboard read."""
    metric = toolchain.stack_run(stack).exports["socket_metric"]
    for task in services(stack):
        document = json.loads(toolchain.batch().runtime_config(task.id)["metric_line"])
        jsonschema.validate(document, EMF_SCHEMA)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(document[key], str) for key in dimension_set)
        assert all(isinstance(document[m["Name"]], int | float) for m in directive["Metrics"])

        assert directive["Namespace"] == metric["namespace"]
        assert [m["Name"] for m in directive["Metrics"]] == [metric["metric_name"]]
        assert directive["Dimensions"] == [[*metric["dimensions"], "Slot"]]
        assert {k: document[k] for k in metric["dimensions"]} == metric["dimensions"]
        assert document["Slot"] == task.slot


@pytest.mark.parametrize("name", [*toolchain.REQUIRED_AT_BOOT, *toolchain.REQUIRED_WITH_REDIS])
def test_boot_stops_with_a_message_naming_a_missing_variable(name):
    case = toolchain.removal_case(toolchain.reference_task(), name)
    assert toolchain.batch().runtime_error(case.id).startswith(f"{name} is not set")


@pytest.mark.parametrize("name", toolchain.REQUIRED_WITH_PASSWORD)
def test_the_migration_task_stops_without_the_master_password(name):
    (admin,) = toolchain.admin_tasks("dev")
    error = toolchain.batch().runtime_error(toolchain.removal_case(admin, name).id)
    assert error == f"{name} is not set, and it is needed because DATABASE_AUTH is password"


def test_iam_login_without_tls_is_refused_before_boot():
    """RDS accepts IAM auth tokens only over SSL/TLS (Amazon RDS User Guide, "IAM database
    authentication for MariaDB, MySQL, and PostgreSQL")."""
    case = toolchain.changed_case(toolchain.reference_task(), "DATABASE_SSL", "false")
    assert toolchain.batch().runtime_error(case.id) == (
        "DATABASE_AUTH is iam but DATABASE_SSL is false: RDS accepts IAM tokens only over TLS"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_variable_a_task_provides_is_read_by_the_app(stack):
    """Each is either required at boot (a test above removes it), read by the release scripts
    or the BEAM (tests/test_elixir_node_name.py, tests/test_elixir_cluster.py), or one of the
    user's own `app.env`/`app.secrets` entries."""
    app = settings(stack).app
    known = {
        *toolchain.REQUIRED_AT_BOOT,
        *toolchain.REQUIRED_WITH_REDIS,
        *toolchain.REQUIRED_WITH_PASSWORD,
        *toolchain.READ_ELSEWHERE,
        *app.env,
        *app.secrets,
    }
    for task in [*services(stack), *toolchain.admin_tasks(stack)]:
        assert sorted(set(task.environment) - known) == [], f"{task.id}: never read"
