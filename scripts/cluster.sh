#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# cluster.sh — start, inspect and break a local Conclave cluster: a LAN in a box.
# As root with iproute2 every node gets its own network namespace on a private bridge and
# finds the others by real mDNS; otherwise all nodes share 127.0.0.1 with static bootstrap.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$REPO_ROOT/scripts/lib/common.sh"
# shellcheck source=lib/state.sh
. "$REPO_ROOT/scripts/lib/state.sh"
# shellcheck source=lib/nodes.sh
. "$REPO_ROOT/scripts/lib/nodes.sh"
# shellcheck source=lib/netns.sh
. "$REPO_ROOT/scripts/lib/netns.sh"

# Bounded by the loopback port block (100 per kind; lib/state.sh) and the 10.213.<k>.<10+i> addresses.
MAX_NODES=99

usage() {
  cat <<USAGE
usage: scripts/cluster.sh COMMAND [ARGS] [--name CLUSTER]

  up N [--protocol $(names_or protocols PROTOCOL | tr ' ' '|')] [--config FILE]
       [--preset $(names_or presets PRESET | tr ' ' '|')] [--log-level LEVEL] [--loopback]
                      start nodes n1..nN and wait until each answers its API
  down                stop every node, delete namespaces and links, remove the state
  status              each node: PID, running/stopped/dead, address, socket, its own view
  kill I              SIGKILL node I            stop I / cont I   SIGSTOP / SIGCONT node I
  restart I           stop node I gracefully and start it again
  logs I [-f]         node I's log (-f: follow)
  sock I              print node I's API socket path
  partition G1 G2...  cut the LAN into groups, e.g. partition "1,2" "3,4,5"   (root)
  oneway I J,K...     drop node I's packets to nodes J,K... (theirs still reach I) (root)
  heal                remove every partition and one-way cut                  (root)
  loss I PCT          drop PCT % of node I's packets at random; 0 clears      (root)
  help                this text

The cluster is --name, else \$CONCLAVE_CLUSTER_NAME, else "local"; its state lives in
.cluster/<name>/ and \`down\` keeps the logs in .cluster/.logs/<name>/.
\$CONCLAVE_BIN replaces the conclave command (default: bin/conclave);
\$CONCLAVE_UP_TIMEOUT_S bounds the wait in \`up\` and \`restart\` (default 30; in \`up\`, each wave's).
\$CONCLAVE_UP_WAVE: \`up\` of more than twice this many nodes starts them in waves of this
many, each once all started so far see each other alive (default 5); the first wave elects
before the second starts (every node's --bootstrap-expect is the first wave's size).
USAGE
}

# The protocol or preset names (space-separated) from the build, where protocols/ keeps the one
# list of each; $2 when there is no build to ask.
names_or() {
  node "$REPO_ROOT/scripts/lib/names.mjs" "$1" 2>/dev/null || printf '%s' "$2"
}

# Refuses --protocol/--preset values the daemon would refuse, before any namespace is built.
# Without a build to ask (a $CONCLAVE_BIN stand-in), the conclave command checks them itself.
check_name() {
  local kind=$1 flag=$2 value=$3 names
  names=$(node "$REPO_ROOT/scripts/lib/names.mjs" "$kind" 2>/dev/null) || return 0
  [[ " $names " == *" $value "* ]] || usage_error "$flag must be one of: ${names// /, }; not '$value'"
}

cmd_up() {
  local size='' protocol=bully protocol_given='' config='' preset='' log_level=info mode=netns index
  while [ $# -gt 0 ]; do
    case $1 in
      --protocol | --config | --preset | --log-level)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        case $1 in
          --protocol) protocol=$2 protocol_given=1 ;;
          --config) config=$2 ;;
          --preset) preset=$2 ;;
          --log-level) log_level=$2 ;;
        esac
        shift 2
        ;;
      --loopback) mode=loopback && shift ;;
      -*) usage_error "unknown flag for up: $1" ;;
      *)
        [ -z "$size" ] || usage_error "up takes one node count, got '$size' and '$1'"
        size=$1 && shift
        ;;
    esac
  done
  if ! [[ $size =~ ^[1-9][0-9]*$ ]] || [ "$size" -gt "$MAX_NODES" ]; then
    usage_error "up needs a node count from 1 to $MAX_NODES"
  fi
  [[ $UP_WAVE =~ ^[1-9][0-9]*$ ]] || usage_error "CONCLAVE_UP_WAVE must be a whole number of nodes from 1 (it is '$UP_WAVE')"
  # Asks node for the names (80 ms): only for a name the user gave.
  [ -z "$protocol_given" ] || check_name protocols --protocol "$protocol"
  [ -z "$preset" ] || check_name presets --preset "$preset"
  if [ -n "$config" ]; then
    [ -f "$config" ] || die "config file '$config' does not exist"
    config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  fi
  if [ -z "${CONCLAVE_BIN:-}" ] && [ ! -f "$REPO_ROOT/dist/daemon/cli/main.js" ]; then
    die "dist/daemon/cli/main.js is missing: build first with \`npm run build\`"
  fi
  if [ "$mode" = netns ] && ! is_root_with_ip; then
    mode=loopback
    echo "not root or no iproute2: all nodes on 127.0.0.1, mDNS off, static bootstrap"
  fi

  mkdir -p "$REPO_ROOT/.cluster"
  # mkdir is atomic: of two concurrent `up`s with one name, exactly one gets the directory.
  mkdir "$STATE" 2>/dev/null ||
    die "cluster '$CLUSTER' is already up (state in .cluster/$CLUSTER): stop it with \`scripts/cluster.sh down --name $CLUSTER\`, or pick another --name"
  mkdir -p "$STATE/nodes" "$STATE/logs" "$STATE/pids"
  # Whatever ends `up` early (a failed command, Ctrl-C, a node that never answers) takes down
  # what it made; only success disarms this.
  trap 'abort_up' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  meta_set mode "$mode"
  meta_set size "$size"
  meta_set protocol "$protocol"
  meta_set config "$config"
  meta_set preset "$preset"
  meta_set log_level "$log_level"
  # Every node's --bootstrap-expect: the whole cluster when it starts at once (no node leads
  # before it saw all of them), the first wave when it starts in waves. Completed only by the
  # last wave, 45 daemons that had never elected took part in their first election at once,
  # beside that wave's handshakes, and on 2 cores declared each other dead by the hundred: `up 45`
  # and `up 50` failed there. The first wave elects; later ones join a working cluster, as a
  # fleet grows. Safe because no other node starts before the first wave elected (up_in_waves);
  # in Raft its configuration is then committed, and later nodes never bootstrap.
  if [ "$size" -le $((2 * UP_WAVE)) ]; then meta_set bootstrap_expect "$size"; else meta_set bootstrap_expect "$UP_WAVE"; fi

  if [ "$mode" = netns ]; then
    echo "building the LAN: bridge + $size namespaces on 10.213.$CLUSTER_OCTET.0/24 (real mDNS)"
    lan_create "$size"
  fi
  conclave_command
  if [ "$size" -le $((2 * UP_WAVE)) ]; then
    echo "starting n1–n$size…"
    # shellcheck disable=SC2046 # one argument per node index
    launch_nodes $(seq 1 "$size") || exit 1
    echo "waiting for $size APIs (up to ${CONCLAVE_UP_TIMEOUT_S:-30} s)…"
    # shellcheck disable=SC2046 # one argument per node index
    wait_for_api $(seq 1 "$size") || exit 1
  else
    up_in_waves "$size" || exit 1
  fi
  trap - EXIT INT TERM
  echo "cluster '$CLUSTER' is up: $size nodes, $protocol, $([ "$mode" = netns ] && echo "namespace LAN" || echo "127.0.0.1")"
  echo "inspect: scripts/cluster.sh status$(name_flag)    stop: scripts/cluster.sh down$(name_flag)"
}

# A cluster of more than two waves starts in waves of $CONCLAVE_UP_WAVE nodes (default 5): each
# wave once every node started so far sees all of them alive. Started all at once, 40 daemons on
# a 2-core machine spend minutes saturated (each start-up, then a connection to every other
# node): starved daemons miss heartbeats and are suspected, and the refutations and redials keep
# them starved. In waves of 5, 50 come up here (README "How large a cluster").
UP_WAVE=${CONCLAVE_UP_WAVE:-5}

up_in_waves() {
  local size=$1 first last index waves=$(((size + UP_WAVE - 1) / UP_WAVE)) wave=0
  echo "starting $size nodes in $waves waves of up to $UP_WAVE: each wave once all nodes so far see each other alive (up to ${CONCLAVE_UP_TIMEOUT_S:-30} s a wave)"
  for ((first = 1; first <= size; first += UP_WAVE)); do
    wave=$((wave + 1))
    last=$((first + UP_WAVE - 1))
    [ "$last" -le "$size" ] || last=$size
    if [ "$last" -eq "$first" ]; then echo "wave $wave/$waves: starting n$first…"; else echo "wave $wave/$waves: starting n$first–n$last…"; fi
    # One after another, as before launch_nodes: a wave's newcomers then do not all start their
    # handshakes with every member at the same instant (a launch is some 10 ms now). Measured at
    # 40 nodes both ways, both stopped at the 8th wave.
    for ((index = first; index <= last; index++)); do node_launch "$index"; done
    # shellcheck disable=SC2046 # one argument per node index
    wait_for_api $(seq "$first" "$last") >/dev/null || return 1
    wait_for_alive "$last" || return 1
    # The first wave's size is every node's bootstrapExpect (cmd_up): it elects before the next
    # wave joins. Joined sooner, the next wave found a Raft bootstrap still in progress, its
    # "exactly bootstrapExpect members" no longer true, and the cluster formed 14 s later around
    # another five nodes.
    if [ "$wave" -eq 1 ]; then wait_for_leader "$last" || return 1; fi
  done
}

# Asks n1..n$1 with `api-probe.mjs $2` every $3 s until the function $4 accepts their answers
# (PROBE_ANSWERS, one per node), within $CONCLAVE_UP_TIMEOUT_S (default 30 s). The function sets
# PROBE_DONE (printed on success) or PROBE_BEHIND (what is still missing, for the failure).
wait_for_probe() {
  local count=$1 mode=$2 pause_s=$3 judge=$4 timeout_s=${CONCLAVE_UP_TIMEOUT_S:-30} started=$SECONDS index
  local -a sockets=()
  for ((index = 1; index <= count; index++)); do sockets+=("$(node_socket "$index")"); done
  while :; do
    mapfile -t PROBE_ANSWERS < <(node "$REPO_ROOT/scripts/lib/api-probe.mjs" "$mode" "${sockets[@]}")
    PROBE_DONE='' PROBE_BEHIND=''
    "$judge" "$count"
    if [ -n "$PROBE_DONE" ]; then
      echo "  $PROBE_DONE after $((SECONDS - started)) s"
      return 0
    fi
    if [ $((SECONDS - started)) -ge "$timeout_s" ]; then
      echo "cluster.sh: after ${timeout_s} s, $PROBE_BEHIND" >&2
      echo "Fix: read their logs (.cluster/.logs/$CLUSTER/ once taken down); on a slow or busy machine raise CONCLAVE_UP_TIMEOUT_S (now $timeout_s)." >&2
      return 1
    fi
    sleep "$pause_s"
  done
}

# Waits until each of n1..n$1 holds $1 members alive.
wait_for_alive() { wait_for_probe "$1" --alive 1 judge_alive; }
judge_alive() {
  local count=$1 index
  local -a behind=()
  for ((index = 1; index <= count; index++)); do
    [ "${PROBE_ANSWERS[index - 1]:-0}" -ge "$count" ] || behind+=("n$index (${PROBE_ANSWERS[index - 1]:-0})")
  done
  if [ ${#behind[@]} -eq 0 ]; then
    PROBE_DONE="all $count see $count alive"
  else
    PROBE_BEHIND="${#behind[@]} of $count nodes still see fewer than $count alive: ${behind[*]:0:10}"
  fi
}

# Waits until each of n1..n$1 names one and the same leader.
wait_for_leader() { wait_for_probe "$1" --leader 0.2 judge_leader; }
judge_leader() {
  local count=$1
  if [ "${PROBE_ANSWERS[0]:--}" != - ] && [ "$(printf '%s\n' "${PROBE_ANSWERS[@]}" | sort -u | wc -l)" -eq 1 ]; then
    PROBE_DONE="all $count name ${PROBE_ANSWERS[0]} leader"
  else
    PROBE_BEHIND="the first $count nodes do not name one leader: ${PROBE_ANSWERS[*]:0:10}"
  fi
}

abort_up() {
  local status=$?
  trap - EXIT INT TERM
  echo "cluster.sh: cluster '$CLUSTER' did not come up; taking down what was started (logs: .cluster/.logs/$CLUSTER/)" >&2
  teardown
  exit $((status == 0 ? 1 : status))
}

# ` --name X` when the cluster is not the default one, for hints users can paste.
name_flag() {
  [ "$CLUSTER" = local ] || printf ' --name %s' "$CLUSTER"
}

teardown() {
  local index waited_ds
  local -A launched=()
  while read -r index; do launched[$index]=1; done < <(recorded node)
  for index in "${!launched[@]}"; do
    # A node launched just before a crash may not have written its PID file yet.
    for ((waited_ds = 0; waited_ds < 20; waited_ds++)); do
      [ ! -s "$(node_pid_file "$index")" ] || break
      sleep 0.1
    done
  done
  [ ${#launched[@]} -eq 0 ] || stop_nodes "${!launched[@]}"
  lan_destroy
  rm -rf "$KEPT_LOGS"
  if [ -d "$STATE/logs" ]; then
    mkdir -p "$(dirname "$KEPT_LOGS")"
    mv "$STATE/logs" "$KEPT_LOGS"
  fi
  rm -rf "$STATE"
}

cmd_down() {
  [ $# -eq 0 ] || usage_error "down takes no arguments besides --name"
  if ! is_up; then
    echo "cluster '$CLUSTER' is not up; nothing to do"
    return 0
  fi
  teardown
  echo "cluster '$CLUSTER' is down; logs kept in .cluster/.logs/$CLUSTER/"
}

cmd_status() {
  [ $# -eq 0 ] || usage_error "status takes no arguments besides --name"
  require_up
  conclave_command
  local size index mode views role leader term counts extra
  local -a states=() view_files=() summaries=()
  size=$(node_count)
  mode=$(meta_get mode)
  printf "cluster '%s': %s nodes, %s, %s\n" "$CLUSTER" "$size" "$(meta_get protocol)" \
    "$([ "$mode" = netns ] && echo "namespace LAN 10.213.$CLUSTER_OCTET.0/24, mDNS" || echo "127.0.0.1, static bootstrap")"
  [ ! -f "$STATE/partition" ] || echo "partition: $(cat "$STATE/partition")"
  # Ask all running nodes at once: each client is a Node start-up (about half a second).
  views=$(mktemp -d)
  for ((index = 1; index <= size; index++)); do
    states[index]=$(node_state "$index")
    if [ "${states[index]}" = running ]; then
      run_conclave status --api "unix:$(node_socket "$index")" --json >"$views/n$index" 2>/dev/null &
    fi
  done
  wait || true
  for ((index = 1; index <= size; index++)); do view_files+=("$views/n$index"); done
  mapfile -t summaries < <(node "$REPO_ROOT/scripts/lib/status-summary.mjs" "${view_files[@]}")
  printf '%-5s %-8s %-8s %-28s %-11s %-7s %-5s %-18s %s\n' \
    NODE PID STATE ADDRESS ROLE LEADER TERM ALIVE/SUSPECT/DEAD SOCKET
  for ((index = 1; index <= size; index++)); do
    IFS=$'\t' read -r role leader term counts <<<"${summaries[index - 1]}"
    [ "${states[index]}" != running ] || [ -s "$views/n$index" ] || role='(no answer)'
    extra=''
    [ ! -f "$STATE/loss/n$index" ] || extra="  loss $(cat "$STATE/loss/n$index")%"
    [ ! -f "$STATE/oneway/n$index" ] || extra+="  one-way cut to $(cat "$STATE/oneway/n$index")"
    printf '%-5s %-8s %-8s %-28s %-11s %-7s %-5s %-18s %s%s\n' "n$index" "$(node_pid "$index" || echo -)" \
      "${states[index]}" "$(node_multiaddr "$index")" "$role" "$leader" "$term" "$counts" "$(node_socket "$index")" "$extra"
  done
  rm -rf "$views"
}

# Commands that take exactly one node index.
one_index() {
  local command=$1
  shift
  [ $# -eq 1 ] || usage_error "$command needs one node number"
  require_up
  check_index "$1"
}

cmd_logs() {
  local index='' follow=''
  while [ $# -gt 0 ]; do
    case $1 in
      -f | --follow) follow=-f && shift ;;
      -*) usage_error "unknown flag for logs: $1" ;;
      *)
        [ -z "$index" ] || usage_error "logs takes one node number"
        index=$1 && shift
        ;;
    esac
  done
  one_index logs "$index"
  local log
  log=$(node_log "$index")
  [ -f "$log" ] || die "n$index has no log yet ($log)"
  exec tail -n 100 ${follow:+"$follow"} "$log"
}

cmd_restart() {
  one_index restart "$@"
  conclave_command
  stop_nodes "$1"
  echo "starting n$1…"
  node_launch "$1"
  wait_for_api "$1" || die "n$1 did not come back; see above"
}

cmd_partition() {
  [ $# -ge 2 ] || usage_error "partition needs at least two groups, e.g. partition \"1,2\" \"3,4,5\""
  require_up
  require_lan partition
  lan_partition "$@"
}

cmd_heal() {
  [ $# -eq 0 ] || usage_error "heal takes no arguments besides --name"
  require_up
  require_lan heal
  lan_heal
}

cmd_oneway() {
  [ $# -eq 2 ] || usage_error "oneway needs a node number and a comma list of nodes, e.g. oneway 1 2,3"
  require_up
  check_index "$1"
  require_lan oneway
  lan_oneway "$1" "$2"
}

cmd_loss() {
  [ $# -eq 2 ] || usage_error "loss needs a node number and a percentage, e.g. loss 2 30"
  require_up
  check_index "$1"
  [[ $2 =~ ^([0-9]|[1-9][0-9]|100)$ ]] || usage_error "loss percentage must be 0..100, not '$2'"
  require_lan loss
  lan_loss "$1" "$2"
}

main() {
  local cluster=${CONCLAVE_CLUSTER_NAME:-local} args=()
  # --name may come before or after the command.
  while [ $# -gt 0 ]; do
    case $1 in
      --name)
        [ $# -ge 2 ] || usage_error "--name needs a value"
        cluster=$2 && shift 2
        ;;
      --name=*) cluster=${1#--name=} && shift ;;
      -h | --help) usage && exit 0 ;;
      *) args+=("$1") && shift ;;
    esac
  done
  [ ${#args[@]} -gt 0 ] || usage_error "no command given"
  local command=${args[0]}
  args=("${args[@]:1}")
  select_cluster "$cluster"
  case $command in
    up) cmd_up "${args[@]+"${args[@]}"}" ;;
    down) cmd_down "${args[@]+"${args[@]}"}" ;;
    status) cmd_status "${args[@]+"${args[@]}"}" ;;
    kill) one_index kill "${args[@]+"${args[@]}"}" && node_signal "${args[0]}" KILL && echo "n${args[0]}: SIGKILL" ;;
    stop) one_index stop "${args[@]+"${args[@]}"}" && node_signal "${args[0]}" STOP && echo "n${args[0]}: SIGSTOP (frozen)" ;;
    cont) one_index cont "${args[@]+"${args[@]}"}" && node_signal "${args[0]}" CONT && echo "n${args[0]}: SIGCONT (running)" ;;
    restart) cmd_restart "${args[@]+"${args[@]}"}" ;;
    logs) cmd_logs "${args[@]+"${args[@]}"}" ;;
    sock) one_index sock "${args[@]+"${args[@]}"}" && node_socket "${args[0]}" && echo ;;
    partition) cmd_partition "${args[@]+"${args[@]}"}" ;;
    heal) cmd_heal "${args[@]+"${args[@]}"}" ;;
    oneway) cmd_oneway "${args[@]+"${args[@]}"}" ;;
    loss) cmd_loss "${args[@]+"${args[@]}"}" ;;
    help) usage ;;
    *) usage_error "unknown command '$command'" ;;
  esac
}

main "$@"
