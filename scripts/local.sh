#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# local.sh (`npm start`) — a 5-node cluster and its live member table; Ctrl-C stops it all.
# Extra arguments go to `cluster.sh up` (e.g. `npm start -- --protocol raft --name demo`).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_SH="$REPO_ROOT/scripts/cluster.sh"
# shellcheck source=lib/common.sh
. "$REPO_ROOT/scripts/lib/common.sh"

usage() {
  echo "usage: npm start -- [--protocol NAME] [--name CLUSTER] [other cluster.sh up flags: scripts/cluster.sh help]"
}

cluster=${CONCLAVE_CLUSTER_NAME:-local}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --name) cluster=${args[i + 1]:-} ;;
    --name=*) cluster=${args[i]#--name=} ;;
    -h | --help) usage && exit 0 ;;
  esac
done
command_hint=scripts/cluster.sh
[ "$cluster" = local ] || command_hint="scripts/cluster.sh --name $cluster"

stop_cluster() {
  trap - INT TERM EXIT
  echo
  bash "$CLUSTER_SH" down --name "$cluster"
}

# The hint first: the dashboard clears the screen as soon as the cluster is up.
echo "other terminal: $command_hint kill 5 | stop 3 | cont 3 | restart 5 | logs 2 -f | status"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
  echo "break the LAN:  $command_hint partition \"1,2\" \"3,4,5\" | heal | loss 2 30    (q or Ctrl-C here stops all)"
else
  echo "partition, heal and loss need root (the namespace LAN)    (q or Ctrl-C here stops all)"
fi
echo

# shellcheck source=lib/state.sh
. "$REPO_ROOT/scripts/lib/state.sh"
select_cluster "$cluster"
sockets=()
for i in 1 2 3 4 5; do sockets+=(--api "unix:$(node_socket "$i")"); done
conclave_command

# CONCLAVE_NO_TUI=1 (or no terminal): `up`, then the plain member table.
if [ -n "${CONCLAVE_NO_TUI:-}" ] || ! [ -t 0 ] || ! [ -t 1 ]; then
  # A failed `up` takes itself down; only a cluster that came up is ours to stop.
  bash "$CLUSTER_SH" up 5 "$@" --name "$cluster"
  trap stop_cluster INT TERM EXIT
  # Not exec: the EXIT trap must still run `down` when the table ends.
  "${CONCLAVE_ENV[@]}" "${CONCLAVE_CMD[@]}" members --watch "${sockets[@]:0:2}" || true
  exit 0
fi

# The dashboard loads while the daemons start (it retries a daemon that is not answering yet
# every 100 ms), so the leader is on screen about when the daemons have elected it. `up`'s own
# output would scribble over the dashboard: it goes to a file, shown only if `up` fails.
up_log=$(mktemp)
trap 'rm -f "$up_log"' EXIT
bash "$CLUSTER_SH" up 5 "$@" --name "$cluster" >"$up_log" 2>&1 &
up_pid=$!
# A background job of a script reads /dev/null unless told otherwise; the dashboard needs the keys.
"${CONCLAVE_ENV[@]}" "${CONCLAVE_CMD[@]}" tui "${sockets[@]}" <&0 &
tui_pid=$!
if ! wait "$up_pid"; then
  # `up` took down what it started.
  kill -TERM "$tui_pid" 2>/dev/null || true
  wait "$tui_pid" || true
  cat "$up_log" >&2
  rm -f "$up_log"
  exit 1
fi
rm -f "$up_log"
trap stop_cluster INT TERM EXIT
# Tab cycles through the five nodes' views; q (or Ctrl-C) ends the dashboard, and the EXIT trap
# then runs `down`.
wait "$tui_pid" || true
