"""The compatibility rule: a release never changes the identity (URN) of a resource it created
unless an alias keeps the old one, or `pulumi up` replaces it (see CHANGELOG.md)."""

import copy

import pytest

from offline import compat, mocks

RELEASED = compat.load_released()


@pytest.mark.parametrize("program", sorted(RELEASED["programs"]))
def test_every_resource_of_the_last_release_keeps_its_identity(program):
    """Run the configs recorded at the last release through today's program: each resource
    identity it recorded (qualified type and logical name) still exists or is aliased."""
    recorded = RELEASED["programs"][program]
    run = compat.run_program(recorded["stack"], recorded["config"])
    lost = compat.lost(recorded["identities"], run)
    assert lost == [], (
        f"{len(lost)} resource(s) of {RELEASED['version']} would be replaced; add an alias "
        f"(pulumi.Alias) for each, or cut a major release and record it: {lost[:5]}"
    )


def renamed(run: mocks.Run, name: str, new_name: str, *, alias: bool) -> mocks.Run:
    """`run` with one resource renamed, as a careless refactor would leave it."""
    resources = copy.deepcopy(run.resources)
    for resource in resources:
        if resource.name == name:
            resource.name = new_name
            if alias:
                resource.aliases.append({"name": name})
    return mocks.Run(resources, run.exports, run.secret_exports)


def retyped_component(run: mocks.Run, name: str, new_type: str, *, alias: bool) -> mocks.Run:
    resources = copy.deepcopy(run.resources)
    for resource in resources:
        if resource.name == name:
            old = resource.type
            resource.type = new_type
            if alias:  # the old type, at its current place and at every place it is aliased to
                resource.aliases += [{"type": old}] + [
                    {**a, "type": old} for a in resource.aliases if not a.get("type")
                ]
    return mocks.Run(resources, run.exports, run.secret_exports)


@pytest.fixture(scope="module")
def prod():
    recorded = RELEASED["programs"]["prod"]
    return compat.run_program(recorded["stack"], recorded["config"]), recorded["identities"]


def test_a_child_renamed_without_an_alias_is_caught(prod):
    run, released = prod
    assert compat.lost(released, renamed(run, "database-instance", "database-db", alias=False)) == [
        ("phoenix-aws:index:Database$aws:rds/instance:Instance", "database-instance")
    ]
    assert compat.lost(released, renamed(run, "database-instance", "database-db", alias=True)) == []


def test_a_component_type_token_changed_without_an_alias_loses_every_child(prod):
    """Children's URNs carry their parents' types: retyping a component moves them all."""
    run, released = prod
    lost = compat.lost(released, retyped_component(run, "database", "acme:index:Db", alias=False))
    assert ("phoenix-aws:index:Database", "database") in lost
    assert ("phoenix-aws:index:Database$aws:rds/instance:Instance", "database-instance") in lost
    kept = retyped_component(run, "database", "acme:index:Db", alias=True)
    assert compat.lost(released, kept) == []


def test_components_keep_their_0_1_type_tokens_as_aliases(prod):
    """Every kind of component a release created keeps its 0.1 token (kinds added since, such
    as PhoenixApp, never had one)."""
    run, released = prod
    released_kinds = {
        kind for t, _ in released for kind in t.split("$") if kind.startswith("phoenix-aws:")
    }
    assert "phoenix-aws:index:Database" in released_kinds
    for resource in run.resources:
        if resource.type in released_kinds:
            kind = resource.type.rsplit(":", 1)[1]
            assert {"type": f"phoenix-aws:components:{kind}"} in [
                {k: v for k, v in a.items() if k == "type"} for a in resource.aliases
            ], resource.name


def test_a_component_moved_under_the_app_without_an_alias_is_caught(prod):
    """The stack program's parts moved under PhoenixApp in 0.3: each keeps its place at the top
    of the stack through `Alias(parent=ROOT_STACK_RESOURCE)` (sent as `noParent`), and its
    children follow. Without that alias, the part and every child would be replaced."""
    run, released = prod
    resources = copy.deepcopy(run.resources)
    for resource in resources:
        if resource.name == "database":
            resource.aliases = [a for a in resource.aliases if not a.get("noParent")]
    lost = compat.lost(released, mocks.Run(resources, run.exports, run.secret_exports))
    assert ("phoenix-aws:index:Database", "database") in lost
    assert ("phoenix-aws:index:Database$aws:rds/instance:Instance", "database-instance") in lost
    assert compat.lost(released, run) == []
