#!/bin/sh
# A stand-in `pulumi` executable for the release command's tests. POSIX sh using only builtins,
# so a call costs about a millisecond.
#
# Every call is recorded under $FAKE_PULUMI_DIR/calls/<n>.*: argv (NUL-separated), cwd, the
# environment the release command controls, and for `up` the stack file as the CLI would read it.
# It answers what the Automation API asks from files the test wrote in $FAKE_PULUMI_DIR:
#   stacks               stack names that exist, one per line (`stack init` adds one)
#   outputs.json         `stack output --json --show-secrets` (one line)
#   outputs-masked.json  `stack output --json` (secrets as "[secret]")
#   fail_ups             which `up` calls (1-based) fail the way the CLI fails an update
#   locked               if present, every `up` fails as Pulumi Cloud answers a locked stack
#   python, program.py   the program's part (see program.py): a successful `up` exports the stack
#                        file's release section as `release_state`; so does the first output read
set -u
dir="$FAKE_PULUMI_DIR"
calls=0 ups=0
[ -f "$dir/calls/count" ] && read -r calls ups < "$dir/calls/count"
calls=$((calls + 1))
call="$dir/calls/$calls"
printf '%s\0' "$@" > "$call.argv"
pwd > "$call.cwd"
: > "$call.env"
for name in PHOENIX_AWS_RELEASE_CHANGE PHOENIX_AWS_RELEASE_EXPECTED \
    PULUMI_AUTOMATION_API PULUMI_DEBUG_COMMANDS \
    PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE; do
  eval "isset=\${$name+x}"
  if [ -n "$isset" ]; then
    eval "value=\$$name"
    printf '%s=%s\0' "$name" "$value" >> "$call.env"
  fi
done

command="" sub="" stack="" secrets=no previous=""
for arg in "$@"; do
  case "$arg" in
    --non-interactive) continue ;;
    --show-secrets) secrets=yes ;;
  esac
  if [ "$previous" = "--stack" ]; then stack="$arg"; fi
  if [ -z "$command" ]; then command="$arg"
  elif [ -z "$sub" ]; then sub="$arg"
  fi
  previous="$arg"
done
[ "$command" = "up" ] && ups=$((ups + 1))
echo "$calls $ups" > "$dir/calls/count"

listed() {  # listed VALUE FILE: is VALUE a line of FILE?
  while IFS= read -r line; do [ "$line" = "$1" ] && return 0; done < "$2"
  return 1
}
program() {  # program STACK: what the Pulumi program exports from the stack file
  if [ -f "$dir/python" ]; then
    IFS= read -r python < "$dir/python"
    "$python" "$dir/program.py" "stacks/Pulumi.$1.yaml" "$dir"
  fi
}
show() {  # show FILE: print a one-line file
  IFS= read -r content < "$1" || true
  printf '%s\n' "$content"
}

if [ "$command" = "version" ]; then
  echo "v3.200.0"
  exit 0
fi
if [ -n "$stack" ] && ! listed "$stack" "$dir/stacks"; then
  echo "error: no stack named '$stack' found" >&2
  exit 255
fi
case "$command $sub" in
  "stack select")
    exit 0 ;;
  "stack init")
    for arg in "$@"; do name="$arg"; done  # the last argument: the new stack's name
    echo "$name" >> "$dir/stacks"
    echo "Created stack '$name'"
    exit 0 ;;
  "stack rm")
    exit 0 ;;
  "destroy "*)
    echo "Destroying ($stack):"
    echo "Resources: 80 deleted"
    exit 0 ;;
  "up "*)
    while IFS= read -r line; do printf '%s\n' "$line"; done \
      < "stacks/Pulumi.$stack.yaml" > "$call.stack_file"
    if [ -f "$dir/locked" ]; then  # what Pulumi Cloud answers while another update holds the stack
      echo "error: [409] Conflict: Another update is currently in progress." >&2
      exit 255
    fi
    if listed "$ups" "$dir/fail_ups"; then
      echo "Updating ($stack):"
      echo "  aws:ecs:Service green  **updating failed**"
      echo "error: update failed" >&2
      echo "error: service shop-prod-green did not stabilize" >&2
      exit 255
    fi
    program "$stack"
    echo "Updating ($stack):"
    echo "Resources: 3 updated, 80 unchanged"
    exit 0 ;;
  "stack output")
    [ -f "$dir/deployed" ] || program "$stack"
    if [ "$secrets" = yes ]; then show "$dir/outputs.json"; else show "$dir/outputs-masked.json"; fi
    exit 0 ;;
  "stack history")
    printf '%s' '[{"kind": "update", "startTime": "2026-11-24T10:00:00.000000Z", ' \
      '"endTime": "2026-11-24T10:01:00.000000Z", "message": "", "environment": {}, ' \
      '"config": {}, "result": "succeeded", "version": 1}]'
    echo
    exit 0 ;;
esac
echo "fake pulumi: unexpected command: $*" >&2
exit 1
