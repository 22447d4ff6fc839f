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

node_address() {
  if [ "$(meta_get mode)" = netns ]; then
    printf '10.213.%s.%s' "$CLUSTER_OCTET" $((10 + $1))
  else
    printf '127.0.0.1'
  fi
}

# Loopback ports come from the cluster's block of 100: libp2p BASE+i, API BASE+50+i.
node_port() {
  if [ "$(meta_get mode)" = netns ]; then printf '7401'; else printf '%s' $((BASE_PORT + $1)); fi
}

node_api_port() {
  if [ "$(meta_get mode)" = netns ]; then printf '7400'; else printf '%s' $((BASE_PORT + 100 + $1)); fi
}

node_multiaddr() {
  printf '/ip4/%s/tcp/%s' "$(node_address "$1")" "$(node_port "$1")"
}

# The `conclave start` arguments for node $1, rebuilt from meta (restart uses the same).
# Priority = index, so the highest-numbered node is the Bully leader: predictable to break.
# bootstrapExpect = the cluster size: no node leads before it has seen all of them.
node_start_args() {
  local index=$1 size other value
  size=$(node_count)
  NODE_ARGS=(start
    --cluster "$CLUSTER" --name "n$index" --priority "$index" --bootstrap-expect "$size"
    --protocol "$(meta_get protocol)"
    --data-dir "$(node_data_dir "$index")"
    --listen "$(node_multiaddr "$index")"
    --api "127.0.0.1:$(node_api_port "$index")"
    --log-level "$(meta_get log_level)" --log-format pretty)
  value=$(meta_get preset)
  [ -z "$value" ] || NODE_ARGS+=(--preset "$value")
  value=$(meta_get config)
  [ -z "$value" ] || NODE_ARGS+=(--config "$value")
  if [ "$(meta_get mode)" != netns ]; then
    NODE_ARGS+=(--no-mdns)
    for ((other = 1; other <= size; other++)); do
      [ "$other" = "$index" ] || NODE_ARGS+=(--bootstrap "$(node_multiaddr "$other")")
    done
  fi
}

node_launch() {
  local index=$1 pid_file launcher=()
  pid_file=$(node_pid_file "$index")
  rm -f "$pid_file"
  mkdir -p "$(node_data_dir "$index")"
  node_start_args "$index"
  [ "$(meta_get mode)" = netns ] && launcher=(ip netns exec "$(node_namespace "$index")")
  record node "$index"
  # setsid: a session of its own, so Ctrl-C in the launching terminal reaches no daemon.
  "${CONCLAVE_ENV[@]}" "${launcher[@]}" setsid -f bash -c "$NODE_SUPERVISOR" supervisor "$pid_file" \
    "${CONCLAVE_CMD[@]}" "${NODE_ARGS[@]}" </dev/null >>"$(node_log "$index")" 2>&1
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
  local -a pending=("$@") sockets answers still
  deadline=$((SECONDS + timeout_s))
  while [ ${#pending[@]} -gt 0 ]; do
    sockets=()
    for index in "${pending[@]}"; do sockets+=("$(node_socket "$index")"); done
    mapfile -t answers < <(node "$REPO_ROOT/scripts/lib/api-probe.mjs" "${sockets[@]}")
    still=()
    for i in "${!pending[@]}"; do
      index=${pending[i]}
      if [ "${answers[i]:-no}" = yes ]; then
        echo "n$index answers on $(node_socket "$index")"
      elif [ -s "$(node_pid_file "$index")" ] && [ "$(node_state "$index")" = dead ]; then
        report_silent_node "$index" "exited before its API answered"
        return 1
      else
        still+=("$index")
      fi
    done
    pending=("${still[@]+"${still[@]}"}")
    [ ${#pending[@]} -gt 0 ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      report_silent_node "${pending[0]}" "did not answer on $(node_socket "${pending[0]}") within ${timeout_s} s"
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
