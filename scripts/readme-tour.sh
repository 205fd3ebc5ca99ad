#!/usr/bin/env bash
# Runs the README's Quickstart and five-minute tour exactly as written, so
# that the first commands a newcomer pastes are known to work.
#
# - Quickstart (the first ```sh block under "## Quickstart"): `scripts/run.sh`
#   is started in the background, as a newcomer's first terminal, and must
#   print "listening on"; `scripts/test.sh` is the command .ci/run ends with,
#   which this script checks instead of running the suite twice. Any other
#   command in that block is an error: add it here first.
# - Tour (the ```sh block under "### A five-minute tour"): every command runs
#   in one shell, in order, from the repository root, and each must exit 0.
#   A step that shows a failure says so itself, by negating the command
#   (`! buf curl ...` fails when the call unexpectedly succeeds).
#
#   scripts/readme-tour.sh       # needs the build that scripts/run.sh makes
set -uo pipefail
cd "$(dirname "$0")/.."

# Prints the lines of the first ```sh block after the line equal to $1.
readme_block() {
  awk -v heading="$1" '
    $0 == heading { found = 1; next }
    found && !inside && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' README.md
}

# Joins continuation lines (ending in "\" or "|") into one command per line
# and drops comments and blank lines.
logical_commands() {
  local pending="" line
  while IFS= read -r line; do
    if [[ -z $pending ]]; then
      [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    fi
    pending+="$line"$'\n'
    [[ $line =~ (\\|\|)[[:space:]]*$ ]] && continue
    printf '%s\0' "$pending"
    pending=""
  done
  [[ -z $pending ]] || printf '%s\0' "$pending"
}

fail() { echo "readme-tour: $*" >&2; exit 1; }

quickstart=$(readme_block "## Quickstart")
tour=$(readme_block "### A five-minute tour")
[[ -n $quickstart ]] || fail "README.md has no sh block under '## Quickstart'"
[[ -n $tour ]] || fail "README.md has no sh block under '### A five-minute tour'"

# --- Quickstart -----------------------------------------------------------
mapfile -d '' quick_commands < <(logical_commands <<<"$quickstart")
server_command=""
for command in "${quick_commands[@]}"; do
  word=$(awk '{print $1}' <<<"$command")
  case "$word" in
    scripts/run.sh) server_command=$command ;;
    scripts/test.sh)
      last=$(grep -v '^[[:space:]]*$' .ci/run | tail -n 1)
      [[ $last == "scripts/test.sh" ]] || fail ".ci/run must end with the README's test command (scripts/test.sh)" ;;
    *) fail "Quickstart command not covered by this script: $command" ;;
  esac
done
[[ -n $server_command ]] || fail "the Quickstart does not start scripts/run.sh"

log=$(mktemp)
echo "== README quickstart: $server_command"
# setsid: the gateway that run.sh execs gets its own process group, so the
# whole group is stopped at the end whatever happens in between.
setsid bash -c "$server_command" >"$log" 2>&1 &
server_pid=$!
cleanup() {
  kill -TERM -- -"$server_pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- -"$server_pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 1 900); do
  grep -q "^listening on " "$log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; fail "scripts/run.sh exited before listening"; }
  sleep 1
done
grep -q "^listening on " "$log" || { cat "$log"; fail "scripts/run.sh did not start within 900 s"; }

# --- Tour -----------------------------------------------------------------
mapfile -d '' tour_commands < <(logical_commands <<<"$tour")
((${#tour_commands[@]} > 0)) || fail "the tour has no commands"
step=0
for command in "${tour_commands[@]}"; do
  step=$((step + 1))
  printf '== README tour command %d:\n%s' "$step" "$command"
  # eval in this shell: `export` and variables carry to later commands, as
  # they do in the newcomer's terminal. .ci/run bounds the whole script
  # with timeout(1).
  eval "$command"
  rc=$?
  if ((rc != 0)); then
    echo "--- gateway output:"; cat "$log"
    fail "README tour command $step exited $rc"
  fi
done
echo "README quickstart and tour: ${#tour_commands[@]} tour commands passed"
