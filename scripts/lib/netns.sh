# shellcheck shell=bash
# The LAN in a box (root + iproute2): one network namespace per node and one holding a Linux
# bridge; a veth pair joins each node to the bridge. Nothing touches the root namespace, so
# mDNS multicast and all cluster traffic stay inside namespaces this cluster made.

bridge_namespace() { printf 'cc-%s-br' "$CLUSTER"; }
node_namespace() { printf 'cc-%s-n%s' "$CLUSTER" "$1"; }
bridge_link() { printf 'c%sbr' "$CLUSTER_HASH"; }
node_link() { printf 'c%sn%s' "$CLUSTER_HASH" "$1"; }
bridge_port_link() { printf 'c%sb%s' "$CLUSTER_HASH" "$1"; }
# A fixed, locally administered MAC per node (the cluster's hash, then the index): every node can
# hold every other's as a permanent neighbour entry (lan_create).
node_mac() { printf '02:%s:%s:%s:%02x:%02x' "${CLUSTER_HASH:0:2}" "${CLUSTER_HASH:2:2}" "${CLUSTER_HASH:4:2}" $(($1 / 256)) $(($1 % 256)); }

# Each resource is recorded before it is created: a crash in between leaves a record of
# something that may not exist, which `down` tolerates, never something unrecorded.
lan_create() {
  local size=$1 index ns br_ns root_batch br_batch
  br_ns=$(bridge_namespace)
  # Every resource is recorded first, then made by one `ip -batch` per namespace: 7 processes
  # for 5 nodes instead of 40 keeps `npm start` quick.
  check_namespace_free "$br_ns"
  record netns "$br_ns"
  record link "$(bridge_link)" "$br_ns"
  root_batch="netns add $br_ns"$'\n'
  for ((index = 1; index <= size; index++)); do
    ns=$(node_namespace "$index")
    check_namespace_free "$ns"
    record netns "$ns"
    record link "$(node_link "$index")" "$ns"
    root_batch+="netns add $ns"$'\n'
  done
  for ((index = 1; index <= size; index++)); do
    root_batch+="link add $(node_link "$index") address $(node_mac "$index") netns $(node_namespace "$index") type veth peer name $(bridge_port_link "$index") netns $br_ns"$'\n'
  done
  ip -batch - <<<"$root_batch"
  # mcast_snooping 0: flood all multicast (mDNS) to every port instead of learning group
  # membership first.
  br_batch="link set lo up"$'\n'"link add $(bridge_link) type bridge"$'\n'
  br_batch+="link set $(bridge_link) type bridge mcast_snooping 0"$'\n'"link set $(bridge_link) up"$'\n'
  for ((index = 1; index <= size; index++)); do
    br_batch+="link set $(bridge_port_link "$index") master $(bridge_link) up"$'\n'
  done
  ip -n "$br_ns" -batch - <<<"$br_batch"
  # Every other node as a permanent neighbour, so no node ever resolves another by ARP. The
  # kernel keeps one ARP table for all namespaces, and its dynamic entries are capped machine-
  # wide (net.ipv4.neigh.default.gc_thresh3, 1024 by default): a full mesh of 50 nodes needs
  # 2,450, and past the cap nodes that came late could reach nobody ("neighbor table overflow"
  # in dmesg; their mDNS sends failed too). Permanent entries are exempt from the cap.
  # Addresses and MACs are worked out once each: the N² lines below spawn nothing.
  local other link neighbours addrs=() macs=()
  for ((index = 1; index <= size; index++)); do
    addrs[index]=$(node_address "$index")
    macs[index]=$(node_mac "$index")
  done
  for ((index = 1; index <= size; index++)); do
    ns=$(node_namespace "$index")
    link=$(node_link "$index")
    neighbours=''
    for ((other = 1; other <= size; other++)); do
      ((other == index)) || neighbours+="neigh replace ${addrs[other]} lladdr ${macs[other]} dev $link nud permanent"$'\n'
    done
    # Without the multicast route mDNS finds nothing.
    ip -n "$ns" -batch - <<<"link set lo up
addr add ${addrs[index]}/24 dev $link
link set $link up
route add 224.0.0.0/4 dev $link
$neighbours"
  done
}

# A namespace that already exists is not ours: refuse it rather than record it and later
# delete someone else's.
check_namespace_free() {
  [ ! -e "/run/netns/$1" ] ||
    die "network namespace $1 already exists (left over from an earlier cluster '$CLUSTER'?); delete it with \`ip netns del $1\` if nothing uses it"
}

# Removes every recorded namespace (with its links, routes and firewall rules) and any link
# that ended up elsewhere. Processes still inside a namespace are this cluster's: killed by PID.
lan_destroy() {
  local ns pid link
  while read -r link _; do
    [ -n "$link" ] || continue
    if ip link show "$link" >/dev/null 2>&1; then ip link del "$link" 2>/dev/null || true; fi
  done < <(recorded link)
  while read -r ns; do
    [ -n "$ns" ] || continue
    [ -e "/run/netns/$ns" ] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done < <(recorded netns)
}

require_lan() {
  [ "$(meta_get mode)" = netns ] ||
    die "'$1' needs the namespace LAN (root and iproute2); cluster '$CLUSTER' runs on 127.0.0.1"
}

# partition GROUP... — each group a comma list of node indexes. Nodes in different groups
# cannot reach each other: blackhole routes drop packets silently, like a cut cable (TCP
# connections stay open and time out instead of closing). Unlisted nodes reach everyone.
lan_partition() {
  local group index other members=()
  local -A group_of=()
  local gid=0
  for group in "$@"; do
    gid=$((gid + 1))
    [[ $group =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "partition group '$group' is not a comma list of node numbers"
    IFS=, read -r -a members <<<"$group"
    for index in "${members[@]}"; do
      check_index "$index"
      [ -z "${group_of[$index]:-}" ] || usage_error "n$index is in more than one partition group"
      group_of[$index]=$gid
    done
  done
  lan_heal quiet
  for index in "${!group_of[@]}"; do
    for other in "${!group_of[@]}"; do
      [ "${group_of[$index]}" != "${group_of[$other]}" ] || continue
      ip -n "$(node_namespace "$index")" route add blackhole "$(node_address "$other")/32"
    done
  done
  printf '%s\n' "$*" >"$STATE/partition"
  local shown
  shown=$(printf '{%s} ' "$@")
  echo "partitioned cluster '$CLUSTER': ${shown% }"
}

lan_heal() {
  local size index route words=()
  size=$(node_count)
  for ((index = 1; index <= size; index++)); do
    while read -r route; do
      [ -n "$route" ] || continue
      # `route show` prints "blackhole ADDR"; delete takes the same words.
      read -r -a words <<<"$route"
      ip -n "$(node_namespace "$index")" route del "${words[@]}"
    done < <(ip -n "$(node_namespace "$index")" route show type blackhole 2>/dev/null)
  done
  rm -f "$STATE/partition"
  local cut
  for cut in "$STATE"/oneway/n*; do
    [ -f "$cut" ] || continue
    ip netns exec "$(node_namespace "${cut##*/n}")" iptables -F CONCLAVE_ONEWAY 2>/dev/null || true
  done
  rm -rf "$STATE/oneway"
  [ "${1:-}" = quiet ] || echo "healed cluster '$CLUSTER': every node reaches every node"
}

# oneway I TARGETS — node I's packets to the nodes of TARGETS (a comma list) are dropped, while
# theirs still reach I: a link that fails in one direction (a bad transceiver, an asymmetric
# firewall rule). TCP senders on either end then see data that is never acknowledged, or
# acknowledgements that never come. `heal` clears it.
lan_oneway() {
  local index=$1 targets=$2 ns link target members=()
  command -v iptables >/dev/null 2>&1 ||
    die "'oneway' needs iptables, which is not installed (apt-get install iptables)"
  [[ $targets =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "oneway targets '$targets' are not a comma list of node numbers"
  IFS=, read -r -a members <<<"$targets"
  for target in "${members[@]}"; do
    check_index "$target"
    [ "$target" != "$index" ] || usage_error "oneway: n$index cannot be cut off from itself"
  done
  ns=$(node_namespace "$index")
  link=$(node_link "$index")
  if ! ip netns exec "$ns" iptables -L CONCLAVE_ONEWAY -n >/dev/null 2>&1; then
    ip netns exec "$ns" iptables -N CONCLAVE_ONEWAY
    ip netns exec "$ns" iptables -A OUTPUT -o "$link" -j CONCLAVE_ONEWAY
  fi
  ip netns exec "$ns" iptables -F CONCLAVE_ONEWAY
  for target in "${members[@]}"; do
    ip netns exec "$ns" iptables -A CONCLAVE_ONEWAY -d "$(node_address "$target")" -j DROP
  done
  mkdir -p "$STATE/oneway"
  printf '%s\n' "$targets" >"$STATE/oneway/n$index"
  echo "n$index: its packets to n${targets//,/, n} are dropped; theirs still reach it"
}

# loss I PCT — random drop of PCT % of packets in and out of node I's link (0 clears).
lan_loss() {
  local index=$1 percent=$2 ns link probability
  command -v iptables >/dev/null 2>&1 ||
    die "'loss' needs iptables, which is not installed (apt-get install iptables)"
  ns=$(node_namespace "$index")
  link=$(node_link "$index")
  if ! ip netns exec "$ns" iptables -L CONCLAVE_LOSS -n >/dev/null 2>&1; then
    ip netns exec "$ns" iptables -N CONCLAVE_LOSS
    ip netns exec "$ns" iptables -A INPUT -i "$link" -j CONCLAVE_LOSS
    ip netns exec "$ns" iptables -A OUTPUT -o "$link" -j CONCLAVE_LOSS
  fi
  ip netns exec "$ns" iptables -F CONCLAVE_LOSS
  mkdir -p "$STATE/loss"
  if [ "$percent" = 0 ]; then
    rm -f "$STATE/loss/n$index"
    echo "n$index: packet loss cleared"
    return
  fi
  probability=$(awk -v p="$percent" 'BEGIN { printf "%.4f", p / 100 }')
  ip netns exec "$ns" iptables -A CONCLAVE_LOSS -m statistic --mode random --probability "$probability" -j DROP
  printf '%s\n' "$percent" >"$STATE/loss/n$index"
  echo "n$index: dropping ${percent}% of packets in and out"
}
