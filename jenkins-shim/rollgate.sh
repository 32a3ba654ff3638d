#!/usr/bin/env bash
# rollgate for Jenkins: runs the rollgate CLI with the build's identity. Nothing else.
#
#   rollgate.sh COMMAND [ARGS...]        e.g.  rollgate.sh run rollgate.yml --env production
#                                              rollgate.sh resume --approve --by "$APPROVER"
#
# Jenkins variables:
#   BUILD_USER_ID (build-user-vars plugin)  -> --actor, for `run` and `resume` (the commands that
#                                              record who acted); an --actor in ARGS comes later
#                                              and wins
#   JENKINS_URL, BUILD_URL, GIT_COMMIT, GIT_BRANCH, GIT_URL, JOB_NAME, BUILD_NUMBER, BRANCH_NAME,
#   CHANGE_ID ...                           -> left in the environment: the CLI reads them itself
#                                              into the run's context (job "JOB_NAME #BUILD_NUMBER",
#                                              change "PR-CHANGE_ID", ref BRANCH_NAME, the run URL,
#                                              the clone URL without credentials), the same with
#                                              or without this shim
# Secrets stay in the environment too (withCredentials), never in ARGS: the CLI reads the
# variables the workflow names.
#
# Which CLI, the first that exists:
#   1. $ROLLGATE_CLI: a .mjs/.js file (run with node), or a command ("/opt/bin/rollgate",
#      "npx --yes rollgate@0.1.0")
#   2. rollgate.mjs beside this script: the self-contained build, shipped with the shim it matches
#   3. rollgate on PATH
#   4. npx --yes rollgate@0.1.0 (needs registry access)
#
# Exit code: the CLI's, unchanged (0 succeeded, 1 failed and rolled back, 2 invalid input,
# 3 paused at a gate, 4 manual intervention, 5 journal not recorded, 6 audit incomplete,
# 130 cancelled): the Jenkinsfile decides what each means for the build. The shim's own
# errors (no COMMAND, no CLI, no node) exit 2, like any other invalid input.
set -euo pipefail

# The npm version the npx fallback runs: the release this shim comes from.
readonly PINNED_VERSION=0.1.0
# package.json "engines": older Nodes fail in obscure ways, and an obscure exit 1 reads as
# "rolled back" to a Jenkinsfile.
readonly MIN_NODE_MAJOR=20 MIN_NODE_MINOR=19

die() {
  printf 'rollgate.sh: %s\n' "$1" >&2
  exit 2
}

# No external commands (not even dirname): the shim must be able to say "node is missing" on
# an agent whose PATH holds almost nothing.
self=${BASH_SOURCE[0]}
if [[ $self == */* ]]; then here=${self%/*}; else here=.; fi

if [[ $# -eq 0 ]]; then
  die "missing COMMAND: usage: rollgate.sh COMMAND [ARGS...] (COMMAND: validate, plan, run, resume, audit; see rollgate.sh --help)"
fi
subcommand=$1
shift

need_node() {
  command -v node >/dev/null 2>&1 ||
    die "node not found on PATH ($1 needs Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR): run on a Node agent, e.g. agent { docker { image 'node:24' } }, or inside the NodeJS plugin's nodejs(...) { } block"
  local version major minor
  version=$(node -p 'process.versions.node') || die "node on PATH ($(command -v node)) does not run"
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%.*}
  if ((major < MIN_NODE_MAJOR || (major == MIN_NODE_MAJOR && minor < MIN_NODE_MINOR))); then
    die "node $version ($(command -v node)) is too old: rollgate needs Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR"
  fi
}

cli=()
if [[ -n ${ROLLGATE_CLI:-} ]]; then
  if [[ -f $ROLLGATE_CLI && ($ROLLGATE_CLI == *.mjs || $ROLLGATE_CLI == *.js || $ROLLGATE_CLI == *.cjs) ]]; then
    need_node "ROLLGATE_CLI=$ROLLGATE_CLI"
    cli=(node "$ROLLGATE_CLI")
  elif [[ -f $ROLLGATE_CLI ]]; then
    [[ -x $ROLLGATE_CLI ]] || die "ROLLGATE_CLI=$ROLLGATE_CLI is not executable (chmod +x it, or name the .mjs file)"
    cli=("$ROLLGATE_CLI")
  else
    # A command with its own arguments: split on blanks (a path with spaces must be a file).
    read -r -a cli <<<"$ROLLGATE_CLI"
    command -v "${cli[0]:-}" >/dev/null 2>&1 ||
      die "ROLLGATE_CLI=$ROLLGATE_CLI: no such file, and '${cli[0]:-}' is not a command on PATH"
  fi
elif [[ -f $here/rollgate.mjs ]]; then
  need_node "$here/rollgate.mjs"
  cli=(node "$here/rollgate.mjs")
elif command -v rollgate >/dev/null 2>&1; then
  need_node "rollgate ($(command -v rollgate))"
  cli=(rollgate)
elif command -v npx >/dev/null 2>&1; then
  need_node "npx rollgate@$PINNED_VERSION"
  cli=(npx --yes "rollgate@$PINNED_VERSION")
else
  need_node "rollgate"
  die "no rollgate CLI found: set ROLLGATE_CLI to the self-contained rollgate.mjs (or a command), put rollgate.mjs in $here/ beside this script, install rollgate on PATH (npm install -g rollgate@$PINNED_VERSION), or give the agent npx and registry access"
fi

mapped=()
if [[ ($subcommand == run || $subcommand == resume) && -n ${BUILD_USER_ID:-} ]]; then
  mapped=(--actor "$BUILD_USER_ID")
fi

# exec: the CLI's exit code is the shim's, and Jenkins' SIGTERM on abort reaches the CLI itself,
# which rolls back the step in flight. ${a[@]+...}: empty arrays under `set -u` on bash < 4.4.
exec "${cli[@]}" "$subcommand" ${mapped[@]+"${mapped[@]}"} "$@"
