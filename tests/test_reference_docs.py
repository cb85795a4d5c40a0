"""docs/components.md is generated from the code (like the input/output tables of
terraform-aws-modules): the suite fails when a change to a component's args, outputs or
docstrings is not followed by `python docs/generate.py`."""

import re
import runpy

from offline.mocks import ROOT


def test_the_component_reference_is_current():
    generate = runpy.run_path(str(ROOT / "docs" / "generate.py"))
    expected = generate["render"](generate["schema"]())
    assert (ROOT / "docs" / "components.md").read_text() == expected, (
        "docs/components.md is out of date: run `python docs/generate.py` and commit it"
    )


def test_every_public_component_has_its_section_with_inputs_and_outputs():
    import phoenix_aws

    text = (ROOT / "docs" / "components.md").read_text()
    for component in phoenix_aws.public_components():
        section = text.split(f"## {component.__name__}\n", 1)[1].split("\n## ", 1)[0]
        assert "| input | type | default | meaning |" in section
        assert "| output | type | meaning |" in section


def _page(name: str) -> str:
    return (ROOT / "docs" / name).read_text()


def test_the_config_reference_is_current():
    generate = runpy.run_path(str(ROOT / "docs" / "generate.py"))
    page = _page("configuration.md")
    assert generate["page_with_settings"](page) == page, (
        "docs/configuration.md is out of date: run `python docs/generate.py` and commit it"
    )


def _documented() -> set[str]:
    """`section.key` for every row of the config reference (`key` for the top level, `aws:…` for
    the provider's), blue and green written once as `release.<slot>`."""
    reference = _page("configuration.md").split("\n## What the settings build", 1)[0]
    documented: set[str] = set()
    sections = [""]
    for line in reference.splitlines():
        if line.startswith("### "):
            sections = [t.replace("[]", "") for t in re.findall(r"`phoenix-aws:([^`]*)`", line)]
            documented |= set(sections)
        elif line.startswith("| `"):
            for key in (k.strip(" `") for k in line.split("|")[1].split(",")):
                documented |= {f"{s}.{key}".lstrip(".") for s in sections}
    return documented


def _key_paths(value, prefix: str):
    """`prefix.key.inner` for every mapping key; lists of mappings add their keys too."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{prefix}.{key}"
            yield from _key_paths(inner, f"{prefix}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _key_paths(inner, prefix)


def test_the_config_reference_explains_every_key_a_shipped_stack_file_shows():
    """Every `aws:` key and every `phoenix-aws:` key path of every shipped stack file has its row
    in the config reference (the entries of a free map, such as `app.env` names, excepted)."""
    import yaml

    free_maps = ("tags.", "app.env.", "app.secrets.", "image.build_args.")
    documented = _documented()
    missing = []
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        for key, value in yaml.safe_load(path.read_text())["config"].items():
            namespace, _, name = key.partition(":")
            wanted = [key] if namespace == "aws" else [name, *_key_paths(value, name)]
            for dotted in wanted:
                if not dotted.startswith(free_maps) and dotted not in documented:
                    missing.append(f"{path.name}: {dotted}")
    assert missing == []


def test_the_reuse_page_lists_the_public_components_in_order():
    import phoenix_aws

    section = _page("reuse.md")
    rows = [
        line.split("|")[1].strip(" `") for line in section.splitlines() if line.startswith("| `")
    ]
    assert rows == [c.__name__ for c in phoenix_aws.public_components()]


def test_the_first_production_deployment_targets_the_stacks_real_repository():
    """The production page's targeted first `up` names the URN and the repository prod really
    registers."""
    import harness

    section = _page("production.md").split("**The first production deployment.**", 1)[1]
    section = section.split("\n## ", 1)[0]
    (urn,) = re.findall(r"--target '([^']+)'", section)
    run = harness.run_main(harness.stack_config("prod"), stack="prod")
    (repo,) = run.of_type("aws:ecr/repository:Repository")
    # The engine's URN: every parent's type, outermost first (the mocks keep only the last).
    assert urn == f"urn:pulumi:prod::phoenix-aws::{run.qualified_type(repo)}::{repo.name}"
    assert f"--repository-names {repo['name']} " in section


def test_the_reuse_snippet_runs_as_written():
    """The Python examples of docs/reuse.md (two apps on shared parts; one component) run under
    mocks as they stand."""
    import harness

    section = _page("reuse.md")
    apps, parts = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    run = harness.run(lambda: exec(parts, {"__name__": "__main__"}), {"aws:region": "eu-west-1"})
    assert run.of_type("aws:ec2/vpc:Vpc")[0]["cidrBlock"] == "10.50.0.0/16"
    assert len(run.exports["private_subnets"]) == 3
    run = harness.run(lambda: exec(apps, {"__name__": "__main__"}), {"aws:region": "eu-west-1"})
    assert len(run.of_type("phoenix-aws:index:PhoenixApp")) == 2
    assert len(run.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1
    assert run.exports["admin"]["url"] == "https://admin.example.com"
