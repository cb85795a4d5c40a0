"""The components as a Pulumi package for every language: Pulumi's own analyzer (the one
`component_provider_host` runs for `pulumi package add`) reads each public component into a
schema with its documented inputs and outputs."""

import json
import re
import typing

import phoenix_aws
import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider

from offline.mocks import ROOT

COMPONENTS = phoenix_aws.public_components()


@pytest.fixture(scope="module")
def schema() -> dict:
    provider = ComponentProvider(COMPONENTS, "phoenix-aws", version=phoenix_aws.__version__)
    return json.loads(provider.schema)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def args_type(component: type) -> type:
    return typing.get_type_hints(component.__init__, include_extras=False)["args"]


def outputs_of(component: type) -> set[str]:
    return {
        camel(k)
        for k, v in component.__annotations__.items()
        if getattr(v, "__origin__", None) is pulumi.Output
        or str(v).startswith("pulumi.output.Output")
    }


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_component_has_a_schema_with_its_documented_inputs(component, schema):
    resource = schema["resources"][f"phoenix-aws:index:{component.__name__}"]
    assert resource["isComponent"] is True
    spec = args_type(component)
    expected = {camel(k) for k in spec.__required_keys__ | spec.__optional_keys__}
    assert set(resource["inputProperties"]) == expected
    assert set(resource.get("requiredInputs", [])) == {camel(k) for k in spec.__required_keys__}
    for name, prop in resource["inputProperties"].items():
        assert prop.get("description"), f"{component.__name__}.{name} has no docstring"
    for name in set(resource["inputProperties"]) - set(resource.get("requiredInputs", [])):
        assert re.search(r"Default", resource["inputProperties"][name]["description"]), (
            f"{component.__name__}.{name}: an optional input's docstring states its default"
        )


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_component_publishes_its_outputs(component, schema):
    resource = schema["resources"][f"phoenix-aws:index:{component.__name__}"]
    assert set(resource["properties"]) == outputs_of(component)
    assert resource.get("description"), f"{component.__name__} has no class docstring"


def test_enums_reach_the_schema_as_enums(schema):
    nat = schema["types"]["phoenix-aws:index:NatStrategy"]
    assert {e["value"] for e in nat["enum"]} == {"none", "single", "per_az", "instance"}


def test_the_plugin_entry_point_hosts_exactly_the_public_components(monkeypatch):
    """PulumiPlugin.yaml's `main` runs provider/: it hosts every public component under the
    package name the type tokens use."""
    import runpy

    import pulumi.provider.experimental as experimental
    import yaml

    hosted = {}
    monkeypatch.setattr(experimental, "component_provider_host", lambda **kw: hosted.update(kw))
    plugin = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    runpy.run_path(str(ROOT / plugin["main"]), run_name="__main__")
    assert hosted["components"] == COMPONENTS
    assert hosted["name"] == "phoenix-aws" and hosted["version"] == phoenix_aws.__version__
