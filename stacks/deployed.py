"""What this stack deployed last: its own outputs, read when the program starts.

The engine's built-in `pulumi:pulumi:readStackOutputs` invoke (what a StackReference uses)
answers synchronously, so the program can compare the planned stack with the deployed one —
database identity, AZs, listener rule priorities, the release state — before it registers any
resource. A first deployment has no outputs.
"""

from typing import Any

import pulumi


def deployed_outputs() -> dict[str, Any]:
    """This stack's outputs after its last successful update (empty on the first)."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    result = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": name})
    return dict((result.value or {}).get("outputs") or {})
