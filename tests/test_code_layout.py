"""The house rules of the code's shape (STYLE.md, rules 10 and 11), checked so they stay true: no
module is a wall of text, no function in the components is longer than a screen, every
component's constructor reads as the list of its steps, and the modules that were split keep
every name other programs import from them."""

import ast
import importlib
from pathlib import Path

import phoenix_aws
import pytest

from offline.mocks import ROOT

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_CONSTRUCTOR_LINES = 40
"""A constructor validates, derives a few values and calls its named steps (as SST's do)."""

CHECKED_FOLDERS = ("components", "policy", "release", "stacks", "cost", "offline")


def python_files(*folders: str) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts and "venv" not in path.parts
    )


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def length(node: ast.AST) -> int:
    """Lines from the `def` (decorators excluded) to the last line of the body."""
    return node.end_lineno - node.lineno + 1  # type: ignore[attr-defined, operator]


def test_the_checks_see_the_code():
    files = python_files(*CHECKED_FOLDERS)
    assert ROOT / "components" / "phoenix_aws" / "network.py" in files
    assert ROOT / "policy" / "rules" / "model.py" in files
    assert len(files) > 50


def test_no_module_is_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files(*CHECKED_FOLDERS)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules by concern (at most {MAX_MODULE_LINES} lines): {long}"


def test_no_function_in_the_components_is_over_80_lines():
    long = {
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}": length(node)
        for path in python_files("components")
        for node in functions(ast.parse(path.read_text()))
        if length(node) > MAX_FUNCTION_LINES
    }
    assert not long, f"split these into named steps (at most {MAX_FUNCTION_LINES} lines): {long}"


@pytest.mark.parametrize("component", phoenix_aws.public_components(), ids=lambda c: c.__name__)
def test_every_component_constructor_reads_as_its_steps(component):
    """The constructor is short and calls methods of its own: the steps, each named."""
    source = Path(importlib.import_module(component.__module__).__file__).read_text()
    cls = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and node.name == component.__name__
    )
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert length(init) <= MAX_CONSTRUCTOR_LINES, f"{component.__name__}: {length(init)} lines"
    steps = {
        call.func.attr
        for call in ast.walk(init)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "self"
        and call.func.attr.startswith("_")
    }
    creates_directly = [
        call
        for call in ast.walk(init)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Attribute)
        and isinstance(call.func.value.value, ast.Name)
        and call.func.value.value.id == "aws"
    ]
    assert steps or len(creates_directly) <= 2, (
        f"{component.__name__} creates its resources inline; name the steps"
    )


# Names phoenix-aws 0.2.0 offered from the modules that were later split by concern. Programs in
# other repositories import them from there, so each old path keeps working.
NAMES_OF_SPLIT_MODULES = {
    "phoenix_aws.network": (
        "FARGATE_NODE_ENDPOINTS KNOWN_INTERFACE_ENDPOINTS MAX_AZS MAX_VPC_PREFIX MIN_VPC_PREFIX "
        "NAT_INSTANCE_AMI_PARAMETER NAT_ROOT_VOLUME_GB NatStrategy Network NetworkArgs "
        "RESERVED_AZ_SLOTS SubnetPlan TIERS check_availability_zones check_az_count "
        "check_interface_endpoints check_nat_instance_type check_vpc_cidr "
        "choose_availability_zones endpoint_service_name endpoints_missing_without_nat "
        "nat_instance_policy nat_instance_user_data plan_subnets zone_id_prefix"
    ),
    "phoenix_aws.load_balancer": (
        "CIDRS_PER_RULE HealthCheck LIVE_RULE_PRIORITY LoadBalancer LoadBalancerArgs "
        "MAX_CONDITION_VALUES MAX_RULES_PER_LOAD_BALANCER MODERN_TLS_POLICY NO_OPERATOR_CIDRS "
        "PathAllowList PlannedRule RULE_BANDS RULE_BAND_WIDTH RoutingAlgorithm TEST_ROUTE_BANDS "
        "TrafficRouting TrafficRoutingArgs access_log_bucket_policy assign_rule_bands "
        "band_priority check_algorithm_with_slow_start check_certificate_arn "
        "check_deregistration_delay check_domain check_health_check check_idle_timeout "
        "check_ingress_cidrs check_listener_rules check_path_pattern check_slow_start "
        "check_test_header chunk count_listener_rules forward_weights path_group "
        "plan_allow_list_rules plan_test_routes target_group_name"
    ),
    "phoenix_aws.release_slot": (
        "APP_NAME_MAX CpuArchitecture DRAIN_POLL_SECONDS ENV_NAME FARGATE_MAX_STOP_TIMEOUT "
        "NOFILE_LIMIT RESERVED_ENV_NAMES RESERVED_ENV_PREFIXES ReleaseSlot ReleaseSlotArgs "
        "SECRET_LOOKING SIGTERM_MARGIN_SECONDS capacity_strategy check_app_name check_env_name "
        "check_fargate_size check_plain_env check_run_as_user check_secret_env "
        "check_stop_timeout container_definitions distribution_flags fargate_memory_options "
        "sigterm_drain_budget"
    ),
    "phoenix_aws.cluster": (
        "Cluster ClusterArgs ECS_EXEC_ACTIONS check_namespace check_policy_arn "
        "check_secret_reference drain_parameter_name drain_parameter_value exec_key_policy "
        "execution_role_policy secret_resource_arn task_role_policy"
    ),
}


@pytest.mark.parametrize("module", sorted(NAMES_OF_SPLIT_MODULES))
def test_split_modules_keep_their_old_import_paths(module):
    imported = importlib.import_module(module)
    missing = [n for n in NAMES_OF_SPLIT_MODULES[module].split() if not hasattr(imported, n)]
    assert not missing, f"{module} no longer offers {missing}"
    assert set(NAMES_OF_SPLIT_MODULES[module].split()) <= set(imported.__all__)
