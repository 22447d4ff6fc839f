# shellcheck shell=bash
# A cluster's state directory, .cluster/<name>/: `meta` (how it was started), `resources`
# (every namespace, link and node launch, appended *before* it is created, so `down` can undo
# a crashed `up`), node data dirs, PID files and logs. `down` moves the logs to
# .cluster/.logs/<name>/.

CLUSTER_NAME_PATTERN='^[a-z0-9][a-z0-9_-]{0,31}$'

# Sets CLUSTER, STATE and the derived names every command uses.
# shellcheck disable=SC2034 # globals for the scripts that source this file
select_cluster() {
  CLUSTER=$1
  [[ $CLUSTER =~ $CLUSTER_NAME_PATTERN ]] ||
    usage_error "cluster name '$CLUSTER' must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter or digit (it is the daemons' --cluster)"
  STATE="$REPO_ROOT/.cluster/$CLUSTER"
  KEPT_LOGS="$REPO_ROOT/.cluster/.logs/$CLUSTER"
  local crc
  crc=$(printf '%s' "$CLUSTER" | cksum | cut -d' ' -f1)
  # Six hex digits keep interface names (c<hash>n<i>) within Linux's 15 characters.
  CLUSTER_HASH=$(printf '%06x' $((crc % 16777216)))
  # Third octet of 10.213.<k>.0/24 and the loopback port block: two clusters rarely share them.
  CLUSTER_OCTET=$((crc % 250 + 1))
  BASE_PORT=$((21000 + (crc % 200) * 200))
}

is_up() {
  [ -d "$STATE" ]
}

require_up() {
  is_up || die "cluster '$CLUSTER' is not up (start it with: scripts/cluster.sh up N --name $CLUSTER)"
}

meta_set() {
  printf '%s=%s\n' "$1" "$2" >>"$STATE/meta"
  meta_load
}

# META: the cluster's meta as this shell last read or wrote it (meta_load), so a launch reads a
# value without a subshell. Every key's last value wins, as in the file.
declare -gA META=()
meta_load() {
  local key value
  META=()
  while IFS='=' read -r key value; do META[$key]=$value; done <"$STATE/meta"
}

meta_loaded() {
  [ ${#META[@]} -gt 0 ] || meta_load
}

# The last value recorded for key $1. Pure bash, no forked tool.
meta_get() {
  meta_loaded
  printf '%s\n' "${META[$1]:-}"
}

# Appends one resource record: `netns NAME`, `link NAME NAMESPACE` or `node INDEX`.
record() {
  printf '%s\n' "$*" >>"$STATE/resources"
}

# Records in reverse creation order: undo the newest first.
recorded() {
  local kind=$1
  [ -f "$STATE/resources" ] || return 0
  tac "$STATE/resources" | awk -v kind="$kind" '$1 == kind { $1 = ""; sub(/^ /, ""); print }'
}

node_count() {
  meta_get size
}

# Sets NODE_DIR, NODE_SOCKET, NODE_LOG and NODE_PID_FILE for node $1, in this shell: `up`
# launches every node at once, and each `$(…)` of a printer below is a subshell (a launch took
# some twenty, each milliseconds of CPU while the daemons started before it were loading).
node_paths() {
  NODE_DIR="$STATE/nodes/n$1"
  NODE_SOCKET="$NODE_DIR/api.sock"
  NODE_LOG="$STATE/logs/n$1.log"
  NODE_PID_FILE="$STATE/pids/n$1"
}
node_data_dir() { node_paths "$1" && printf '%s' "$NODE_DIR"; }
node_socket() { node_paths "$1" && printf '%s' "$NODE_SOCKET"; }
node_log() { node_paths "$1" && printf '%s' "$NODE_LOG"; }
node_pid_file() { node_paths "$1" && printf '%s' "$NODE_PID_FILE"; }

node_pid() {
  local file
  file=$(node_pid_file "$1")
  [ -s "$file" ] && cat "$file"
}

# Validates a 1-based node index against the cluster's size.
check_index() {
  local index=$1 size
  size=$(node_count)
  if ! [[ $index =~ ^[1-9][0-9]*$ ]] || [ "$index" -gt "$size" ]; then
    usage_error "node '$index' is not a node of cluster '$CLUSTER' (1..$size)"
  fi
}
