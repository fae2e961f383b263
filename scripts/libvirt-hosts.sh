#!/usr/bin/env bash
# Independent libvirt "hosts" on this one machine, e.g. for live-migration tests.
#
#   scripts/libvirt-hosts.sh start NAME...   start host NAME (idempotent)
#   scripts/libvirt-hosts.sh stop  NAME...   stop the libvirtd this script started for NAME
#   scripts/libvirt-hosts.sh purge NAME...   destroy NAME's guests, stop it, remove its state
#   scripts/libvirt-hosts.sh uri   NAME      print NAME's client URI
#
# Host NAME is a libvirtd running in its own mount namespace, where the five libvirt
# state directories (/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt) are bind mounts of $VIRTFLEET_HOSTS_DIR/NAME/{etc,run,lib,log,cache}
# (default /run/virtfleet-hosts/NAME). The network namespace is shared: the daemon's
# sockets are in NAME/sock, so clients connect with
#   qemu+unix:///system?socket=/run/virtfleet-hosts/NAME/sock/libvirt-sock
# Guest files (kernels, disks, console logs) must live outside those five directories.
#
# Per host: a host_uuid derived from NAME (libvirt refuses to migrate a guest to a host
# with its own UUID); QEMU runs as root without a security driver; stdio goes to files
# (no virtlogd in the namespace); no cgroup controllers (the hosts would otherwise share
# the machine/qemu-ID-NAME cgroups). The QEMU capabilities cache is seeded from the main
# daemon's /var/cache/libvirt, so a start takes about a second instead of probing every
# emulator again (~50 s on 2 cores).
#
# Live migration between hosts: peer-to-peer with an explicit migration URI (a unix
# socket outside the state dirs, or tcp://127.0.0.1). libvirtd refuses 127.0.0.1 as
# qemu.conf migration_host/migration_address, so that is not configured here.
#
# With VIRTFLEET_HOSTS_NETNS=1 a host also gets a network namespace of its own,
# vfhost-NAME (made if missing): its libvirtd, and so its guests' tap devices, live
# there, and the host's bridges, dnsmasq and nftables rules go there too (the agent's
# [network] host_netns). Such hosts still share the filesystem. purge deletes the
# namespace and the agent's DHCP namespaces vfhost-NAME-* (stopping what runs in them).
#
# Environment: VIRTFLEET_HOSTS_DIR (state root), VIRTFLEET_HOSTS_TIMEOUT (seconds to wait
# for a daemon, default 120), VIRTFLEET_HOSTS_WRAPPER (command prefix for libvirtd, e.g.
# "setarch i686" for a host that reports arch i686), VIRTFLEET_HOSTS_NETNS (1: a network
# namespace per host).
set -euo pipefail

ROOT=${VIRTFLEET_HOSTS_DIR:-/run/virtfleet-hosts}
TIMEOUT=${VIRTFLEET_HOSTS_TIMEOUT:-120}
MOUNTS=(etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt
        cache:/var/cache/libvirt)

die() { echo "libvirt-hosts: $*" >&2; exit 1; }
say() { echo "libvirt-hosts: $*"; }

check_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$ ]] || die "bad host name '$1' (letters, digits, _ . -)"
}

uri() { echo "qemu+unix:///system?socket=$ROOT/$1/sock/libvirt-sock"; }
answers() { virsh -c "$(uri "$1")" version >/dev/null 2>&1; }
# exactly that name (grep -w would also match vfhost-NAME-dhcp-...)
has_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }
recorded_pid() { [[ -s $ROOT/$1/libvirtd.pid ]] && tr -dc '0-9' <"$ROOT/$1/libvirtd.pid" || true; }

ours() {  # ours NAME PID: PID is the libvirtd started for NAME (by its pid file argument)
  local pid=$2
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == libvirtd ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-p $ROOT/$1/libvirtd.pid"
}

host_uuid() {  # stable per name, RFC 4122 shaped
  local h
  h=$(printf 'virtfleet-host-%s' "$1" | sha256sum | cut -c1-32)
  echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
}

write_config() {  # write_config NAME
  local dir=$ROOT/$1
  cat >"$dir/etc/libvirtd.conf" <<CONF
host_uuid = "$(host_uuid "$1")"
unix_sock_dir = "$dir/sock"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  cat >"$dir/etc/qemu.conf" <<'CONF'
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
CONF
  : >"$dir/etc/libvirt.conf"
}

start_one() {  # start_one NAME
  local name=$1 dir=$ROOT/$1 binds="" spec i
  if answers "$name"; then say "host $name: already up, $(uri "$name")"; return 0; fi
  mkdir -p "$dir"/{etc/qemu,run,lib/qemu,log/qemu,cache,sock}
  if [[ -d /var/cache/libvirt/qemu ]]; then
    cp -a -u /var/cache/libvirt/. "$dir/cache/"  # only files newer than ours
  fi
  write_config "$name"
  if ! ours "$name" "$(recorded_pid "$name")"; then
    for spec in "${MOUNTS[@]}"; do
      binds+="mount --bind '$dir/${spec%%:*}' '${spec#*:}'; "
    done
    local netns=()
    if [[ ${VIRTFLEET_HOSTS_NETNS:-0} == 1 ]]; then
      has_netns "vfhost-$name" || ip netns add "vfhost-$name"
      ip -n "vfhost-$name" link set lo up
      netns=(ip netns exec "vfhost-$name")
    fi
    # shellcheck disable=SC2086  # the wrapper is a word list on purpose
    "${netns[@]}" unshare --mount --propagation private -- /bin/sh -ec \
      "${binds} exec ${VIRTFLEET_HOSTS_WRAPPER:-} libvirtd -d -f /etc/libvirt/libvirtd.conf -p '$dir/libvirtd.pid'"
  fi
  for ((i = 0; i < TIMEOUT * 10; i++)); do
    answers "$name" && break
    # libvirtd -d removes its pid file when its state drivers fail to start
    if ((i > 50)) && ! ours "$name" "$(recorded_pid "$name")"; then break; fi
    sleep 0.1
  done
  if ! answers "$name"; then
    tail -5 "$dir/log/libvirtd.log" >&2 2>/dev/null || true
    die "host $name: libvirtd did not answer (log: $dir/log/libvirtd.log)"
  fi
  say "host $name: up, pid $(recorded_pid "$name"), host_uuid $(host_uuid "$name"), $(uri "$name")"
}

destroy_domains() {  # destroy_domains NAME: every guest of that host, running or defined
  local u d
  u=$(uri "$1")
  answers "$1" || return 0
  for d in $(virsh -c "$u" list --uuid); do virsh -c "$u" destroy "$d" >/dev/null 2>&1 || true; done
  for d in $(virsh -c "$u" list --all --uuid); do
    virsh -c "$u" undefine --nvram "$d" >/dev/null 2>&1 || virsh -c "$u" undefine "$d" >/dev/null 2>&1 || true
  done
}

kill_orphan_guests() {  # QEMU processes of NAME left behind by a dead daemon
  local f pid
  for f in "$ROOT/$1"/run/qemu/*.pid; do
    [[ -e $f ]] || continue
    pid=$(tr -dc '0-9' <"$f")
    if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system-* ]]; then
      kill -KILL "$pid" && say "host $1: killed orphan guest process $pid"
    fi
  done
}

stop_one() {  # stop_one NAME
  local name=$1 pid i
  pid=$(recorded_pid "$name")
  if ! ours "$name" "$pid"; then
    say "host $name: not running (nothing of ours to stop)"
    rm -f "$ROOT/$name/libvirtd.pid"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < 100; i++)); do ours "$name" "$pid" || break; sleep 0.1; done
  if ours "$name" "$pid"; then kill -KILL "$pid"; fi
  rm -f "$ROOT/$name/libvirtd.pid"
  say "host $name: stopped libvirtd pid $pid"
}

purge_one() {  # purge_one NAME
  local name=$1 ns pid
  if [[ -d $ROOT/$name ]]; then
    destroy_domains "$name"
    stop_one "$name"
    kill_orphan_guests "$name"
    rm -rf "${ROOT:?}/$name"
  fi
  if has_netns "vfhost-$name"; then ip netns del "vfhost-$name"; fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^vfhost-$name-" || true); do
    # the host agent's DHCP namespaces, and the dnsmasq it left running in them
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
  say "host $name: purged"
}

command=${1:-}
shift || true
(($#)) || die "usage: $0 start|stop|purge|uri NAME..."
for name in "$@"; do check_name "$name"; done
case $command in
  start)  # in parallel: a daemon without a warm cache probes every emulator
    pids=()
    for name in "$@"; do start_one "$name" & pids+=($!); done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    exit $status ;;
  stop) for name in "$@"; do stop_one "$name"; done ;;
  purge) for name in "$@"; do purge_one "$name"; done ;;
  uri) (($# == 1)) || die "uri takes one host name"; uri "$1" ;;
  *) die "usage: $0 start|stop|purge|uri NAME..." ;;
esac
