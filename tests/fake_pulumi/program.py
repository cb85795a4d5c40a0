"""What the fake `pulumi` runs for the program's part of an `up`: export the stack file's release
section, filled with the settings' defaults (`defaults.json`, written from the real settings
model by FakePulumi), as the `release_state` output — as `__main__.py` exports
`ReleaseSettings.state()`. Plain Python and PyYAML only, so an up costs tens of milliseconds.

    python program.py <stack file> <fake dir>
"""

import json
import sys
from pathlib import Path

import yaml


def section(stack_file: Path, defaults: dict) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    config = yaml.load(stack_file.read_text(), Loader=loader)["config"]
    written = config.get("phoenix-aws:release") or {}
    result = json.loads(json.dumps(defaults))
    for key, value in written.items():
        if key in ("blue", "green") and isinstance(value, dict):
            result[key].update(value)
        else:
            result[key] = value
    return result


def main() -> None:
    stack_file, directory = Path(sys.argv[1]), Path(sys.argv[2])
    state = section(stack_file, json.loads((directory / "defaults.json").read_text()))
    for name in ("outputs.json", "outputs-masked.json"):
        path = directory / name
        outputs = json.loads(path.read_text())
        outputs["release_state"] = state
        path.write_text(json.dumps(outputs))
    (directory / "deployed").write_text("")


if __name__ == "__main__":
    main()
