"""A stand-in `pulumi` executable for the release command's tests (stdlib only, run with -S).

It appends every call to `$FAKE_PULUMI_DIR/calls.jsonl` (argv without the program, cwd, the
environment the release command controls, and for `up` the stack file as the CLI would read it)
and answers what the Automation API asks, from `$FAKE_PULUMI_DIR/state.json`:

  {"stacks": ["prod"], "outputs": {...}, "secret_outputs": ["..."], "fail_ups": [2]}

`fail_ups` lists which `up` calls (1-based) fail the way the CLI fails an update.
"""

import json
import os
import sys

RECORDED_ENV = (
    "PHOENIX_AWS_RELEASE_CHANGE",
    "PHOENIX_AWS_PYTHON",
    "PHOENIX_AWS_HOME",
    "PULUMI_AUTOMATION_API",
    "PULUMI_DEBUG_COMMANDS",
)


def main(argv):
    home = os.environ["FAKE_PULUMI_DIR"]
    with open(os.path.join(home, "state.json"), encoding="utf-8") as file:
        state = json.load(file)
    args = [a for a in argv if a != "--non-interactive"]
    stack = args[args.index("--stack") + 1] if "--stack" in args else None
    call = {
        "argv": argv,
        "cwd": os.getcwd(),
        "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ},
    }
    ups = 0
    log = os.path.join(home, "calls.jsonl")
    if os.path.exists(log):
        with open(log, encoding="utf-8") as file:
            ups = sum(1 for line in file if json.loads(line)["argv"][1:2] == ["up"])
    if args[:1] == ["up"]:
        with open(os.path.join("stacks", f"Pulumi.{stack}.yaml"), encoding="utf-8") as file:
            call["stack_file"] = file.read()
    with open(log, "a", encoding="utf-8") as file:
        file.write(json.dumps(call) + "\n")

    if args == ["version"]:
        print("v3.200.0")
        return 0
    if stack is not None and stack not in state.get("stacks", []):
        print(f"error: no stack named '{stack}' found", file=sys.stderr)
        return 255
    if args[:2] == ["stack", "select"]:
        return 0
    if args[:1] == ["up"]:
        if ups + 1 in state.get("fail_ups", []):
            print("Updating (prod):")
            print("  aws:ecs:Service green  **updating failed**")
            print("error: update failed", file=sys.stderr)
            print("error: service shop-prod-green did not stabilize", file=sys.stderr)
            return 255
        print("Updating (prod):")
        print("Resources: 3 updated, 80 unchanged")
        return 0
    if args[:3] == ["stack", "output", "--json"]:
        outputs = dict(state.get("outputs", {}))
        if "--show-secrets" not in args:
            for key in state.get("secret_outputs", []):
                outputs[key] = "[secret]"
        print(json.dumps(outputs))
        return 0
    if args[:3] == ["stack", "history", "--json"]:
        summary = {
            "kind": "update",
            "startTime": "2026-11-24T10:00:00.000000Z",
            "endTime": "2026-11-24T10:01:00.000000Z",
            "message": "",
            "environment": {},
            "config": {},
            "result": "succeeded",
            "version": ups,
        }
        print(json.dumps([summary]))
        return 0
    print(f"fake pulumi: unexpected command {argv}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
