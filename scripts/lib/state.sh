# shellcheck shell=bash
# A cluster's state directory, .cluster/<name>/: `meta` (how it was started), `resources`
# (every namespace, link and node launch, appended *before* it is created, so `down` can undo
# a crashed `up`), node data dirs, PID files and logs. `down` moves the logs to
# .cluster/.logs/<name>/.

CLUSTER_NAME_PATTERN='^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$'

# Sets CLUSTER, STATE and the derived names every command uses.
# shellcheck disable=SC2034 # globals for the scripts that source this file
select_cluster() {
  CLUSTER=$1
  [[ $CLUSTER =~ $CLUSTER_NAME_PATTERN ]] ||
    usage_error "cluster name '$CLUSTER' must be 1-32 letters, digits, '-' or '_', starting with a letter or digit"
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
}

# The last value recorded for key $1. Pure bash: `up` calls this a dozen times per node while
# the daemons it already launched are loading, and each forked tool cost milliseconds there.
meta_get() {
  local key value found=
  while IFS='=' read -r key value; do
    [ "$key" = "$1" ] && found=$value
  done <"$STATE/meta"
  printf '%s\n' "$found"
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

node_data_dir() { printf '%s/nodes/n%s' "$STATE" "$1"; }
node_socket() { printf '%s/nodes/n%s/api.sock' "$STATE" "$1"; }
node_log() { printf '%s/logs/n%s.log' "$STATE" "$1"; }
node_pid_file() { printf '%s/pids/n%s' "$STATE" "$1"; }

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
