"""docs/components.md is generated from the code (like the input/output tables of
terraform-aws-modules): the suite fails when a change to a component's args, outputs or
docstrings is not followed by `python docs/generate.py`."""

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
