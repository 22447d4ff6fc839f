# shellcheck shell=bash
# Node processes: start (each under a tiny supervisor), inspect, signal, stop, wait for the API.

# The supervisor writes the daemon's own PID (not the PID of `ip netns exec` or `setsid`), then
# waits on it: a parent that reaps means a killed daemon leaves no zombie behind, even where
# PID 1 does not reap orphans. The PID file is written by the supervisor itself, so it exists
# even when cluster.sh dies right after the launch.
# shellcheck disable=SC2016 # expanded by the supervisor shell, not here
NODE_SUPERVISOR='pid_file=$1; shift
"$@" </dev/null &
printf "%s\n" "$!" >"$pid_file.tmp" && mv "$pid_file.tmp" "$pid_file"
wait "$!"'

# Sets NODE_ADDRESS, NODE_PORT (libp2p), NODE_API_PORT and NODE_MULTIADDR for node $1, in this
# shell (as node_paths). Loopback ports come from the cluster's block: libp2p BASE+i, API
# BASE+100+i.
node_endpoint() {
  meta_loaded
  if [ "${META[mode]:-}" = netns ]; then
    NODE_ADDRESS="10.213.$CLUSTER_OCTET.$((10 + $1))" NODE_PORT=7401 NODE_API_PORT=7400
  else
    NODE_ADDRESS=127.0.0.1 NODE_PORT=$((BASE_PORT + $1)) NODE_API_PORT=$((BASE_PORT + 100 + $1))
  fi
  NODE_MULTIADDR="/ip4/$NODE_ADDRESS/tcp/$NODE_PORT"
}
node_address() { node_endpoint "$1" && printf '%s' "$NODE_ADDRESS"; }
node_multiaddr() { node_endpoint "$1" && printf '%s' "$NODE_MULTIADDR"; }

# The `conclave start` arguments for node $1, rebuilt from meta (restart uses the same), into
# NODE_ARGS; no subshell (see node_paths).
# Priority = index, so the highest-numbered node of the first election is the Bully leader:
# predictable to break (nN, or n5 when `up` starts the cluster in waves of 5).
# bootstrapExpect = the cluster size (no node leads before it has seen all of them), or the first
# wave's when `up` starts the cluster in waves (cluster.sh); a state from before that has none.
node_start_args() {
  local index=$1 other
  meta_load
  node_paths "$index"
  node_endpoint "$index"
  NODE_ARGS=(start
    --cluster "$CLUSTER" --name "n$index" --priority "$index" --bootstrap-expect "${META[bootstrap_expect]:-${META[size]}}"
    --protocol "${META[protocol]}"
    --data-dir "$NODE_DIR"
    --listen "$NODE_MULTIADDR"
    --api "127.0.0.1:$NODE_API_PORT"
    --log-level "${META[log_level]}" --log-format pretty)
  [ -z "${META[preset]:-}" ] || NODE_ARGS+=(--preset "${META[preset]}")
  [ -z "${META[config]:-}" ] || NODE_ARGS+=(--config "${META[config]}")
  if [ "${META[mode]}" != netns ]; then
    NODE_ARGS+=(--no-mdns)
    for ((other = 1; other <= ${META[size]}; other++)); do
      [ "$other" = "$index" ] && continue
      node_endpoint "$other"
      NODE_ARGS+=(--bootstrap "$NODE_MULTIADDR")
    done
    node_endpoint "$index"
  fi
}

node_launch() {
  local index=$1 launcher=()
  node_start_args "$index"
  rm -f "$NODE_PID_FILE"
  mkdir -p "$NODE_DIR"
  [ "${META[mode]}" = netns ] && launcher=(ip netns exec "$(node_namespace "$index")")
  record node "$index"
  # setsid: a session of its own, so Ctrl-C in the launching terminal reaches no daemon.
  "${CONCLAVE_ENV[@]}" "${launcher[@]}" setsid -f bash -c "$NODE_SUPERVISOR" supervisor "$NODE_PID_FILE" \
    "${CONCLAVE_CMD[@]}" "${NODE_ARGS[@]}" </dev/null >>"$NODE_LOG" 2>&1
}

# Launches the given nodes at once, each launch a background job: one after another, each launch
# waited for CPU behind the daemons started before it, and `npm start`'s fifth node started a
# second after its first (now within 0.2 s). Fails when any launch failed.
launch_nodes() {
  local index failed=0
  local -a jobs=()
  for index in "$@"; do
    node_launch "$index" &
    jobs+=("$!")
  done
  for index in "${jobs[@]}"; do wait "$index" || failed=1; done
  return "$failed"
}

# running | stopped | dead. A PID counts as the node's only while its command line still
# names the node's data dir: a recycled PID is never signalled.
process_state() {
  local pid=$1 data_dir=$2 cmdline stat state
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ]; then
    echo dead
    return
  fi
  # The process can end between the test above and these reads: no message for that.
  cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || cmdline=
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || stat=
  if [[ $cmdline != *"$data_dir"* ]] || [ -z "$stat" ]; then
    echo dead
    return
  fi
  state=${stat##*) }
  case ${state%% *} in
    T | t) echo stopped ;;
    Z | X) echo dead ;;
    *) echo running ;;
  esac
}

node_state() {
  process_state "$(node_pid "$1" || true)" "$(node_data_dir "$1")"
}

# Sends signal $2 to node $1's recorded PID; fails when the node is not running.
node_signal() {
  local index=$1 signal=$2 pid
  pid=$(node_pid "$index" || true)
  [ "$(node_state "$index")" != dead ] || die "n$index is not running (recorded PID: ${pid:-none})"
  kill "-$signal" "$pid"
}

# SIGTERM (after SIGCONT, so a stopped node can act on it) to the given nodes, up to 3 s for
# a graceful leave, then SIGKILL whatever is left.
stop_nodes() {
  local index pid waited_ds=0 left
  for index in "$@"; do
    [ "$(node_state "$index")" = dead ] && continue
    pid=$(node_pid "$index")
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  while :; do
    left=()
    for index in "$@"; do
      [ "$(node_state "$index")" = dead ] || left+=("$index")
    done
    [ ${#left[@]} -gt 0 ] || return 0
    [ "$waited_ds" -lt 30 ] || break
    sleep 0.1
    waited_ds=$((waited_ds + 1))
  done
  for index in "${left[@]}"; do
    echo "n$index did not leave within 3 s: SIGKILL" >&2
    kill -KILL "$(node_pid "$index")" 2>/dev/null || true
  done
}

# Waits until every given node answers /v1/status on its socket, within
# $CONCLAVE_UP_TIMEOUT_S (default 30 s). On failure prints the first silent node's last log
# lines and how to go on, and returns 1.
wait_for_api() {
  local timeout_s=${CONCLAVE_UP_TIMEOUT_S:-30} deadline index i
  local -a pending=("$@") sockets answers still slow
  deadline=$((SECONDS + timeout_s))
  while [ ${#pending[@]} -gt 0 ]; do
    sockets=()
    for index in "${pending[@]}"; do sockets+=("$(node_socket "$index")"); done
    mapfile -t answers < <(node "$REPO_ROOT/scripts/lib/api-probe.mjs" "${sockets[@]}")
    still=()
    slow=()
    for i in "${!pending[@]}"; do
      index=${pending[i]}
      if [ "${answers[i]:-no}" = yes ]; then
        echo "n$index answers on $(node_socket "$index")"
      elif [ -s "$(node_pid_file "$index")" ] && [ "$(node_state "$index")" = dead ]; then
        report_silent_node "$index" "exited before its API answered"
        return 1
      else
        still+=("$index")
        [ "${answers[i]:-no}" = slow ] && slow+=("$index")
      fi
    done
    pending=("${still[@]+"${still[@]}"}")
    [ ${#pending[@]} -gt 0 ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      if [ ${#slow[@]} -gt 0 ]; then
        # Running, with its socket accepting connections, and no answer within a second: a
        # starved event loop (more daemons than the cores serve) or a stuck one, not a crash.
        report_silent_node "${slow[0]}" "is running and its API socket accepts connections, but it did not answer /v1/status within a second in ${timeout_s} s: its event loop is starved (more daemons than this machine's cores serve; README \"How large a cluster\") or stuck"
      else
        report_silent_node "${pending[0]}" "did not answer on $(node_socket "${pending[0]}") within ${timeout_s} s"
      fi
      return 1
    fi
    sleep 0.2
  done
}

report_silent_node() {
  local index=$1 why=$2
  {
    echo "cluster.sh: n$index $why. Last lines of its log:"
    tail -n 20 "$(node_log "$index")" 2>/dev/null | sed 's/^/    /'
    echo "Fix: read the log above; if the build is stale run \`npm run build\`; on a slow"
    echo "machine raise CONCLAVE_UP_TIMEOUT_S (now ${CONCLAVE_UP_TIMEOUT_S:-30})."
  } >&2
}
