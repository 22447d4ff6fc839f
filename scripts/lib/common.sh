# shellcheck shell=bash
# Shared by cluster.sh and local.sh: messages, exit codes, and the `conclave` command to run.

# Usage errors exit 2 (after the usage text), runtime failures exit 1.
die() {
  printf 'cluster.sh: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'cluster.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

# The conclave command as an array: $CONCLAVE_BIN (words, for tests and stand-ins) or the build.
conclave_command() {
  if [ -n "${CONCLAVE_BIN:-}" ]; then
    read -r -a CONCLAVE_CMD <<<"$CONCLAVE_BIN"
  else
    CONCLAVE_CMD=("$REPO_ROOT/bin/conclave")
  fi
}

# Prefix for every conclave process: the daemon rejects CONCLAVE_* names it does not know, so
# this script's own variables must not leak into its environment.
CONCLAVE_ENV=(env -u CONCLAVE_CLUSTER_NAME -u CONCLAVE_BIN -u CONCLAVE_API -u CONCLAVE_UP_TIMEOUT_S -u CONCLAVE_UP_WAVE)

# A client command, bounded: a frozen (SIGSTOPped) daemon must not hang the script.
run_conclave() {
  timeout 5 "${CONCLAVE_ENV[@]}" "${CONCLAVE_CMD[@]}" "$@"
}

is_root_with_ip() {
  [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && ip netns list >/dev/null 2>&1
}
