"""The phoenix-aws policy pack: `pulumi preview --policy-pack policy`.

Only assembles the pack; the rules are plain functions in `policy/rules/`, the waivers live in
`policy/waivers.yaml`.
"""

import sys
from pathlib import Path

# The CLI runs this file from inside policy/; the rules import as the `policy` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, policies
from policy.rules import RULES
from policy.waivers import WaiverError, load_waivers

try:
    waivers = load_waivers()
except WaiverError as error:
    # A plain message instead of a traceback: which waiver, what is wrong.
    print(error, file=sys.stderr)
    sys.exit(1)

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(RULES, waivers),
    description="AWS Foundational Security Best Practices and AWS's deployment rules for "
    "phoenix-aws stacks",
)
