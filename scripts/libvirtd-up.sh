#!/usr/bin/env bash
# Start virtlogd and libvirtd as daemons when they are not already answering (there is
# no systemd here). The first start probes every QEMU emulator and can take ~1 minute;
# later starts reuse libvirt's capabilities cache.
set -euo pipefail

URI=qemu:///system
TIMEOUT=${VIRTFLEET_LIBVIRTD_TIMEOUT:-180}

wait_until() {  # wait_until DESCRIPTION COMMAND...
  local what=$1; shift
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "libvirtd-up: $what did not answer within ${TIMEOUT}s" >&2
  tail -20 /var/log/libvirt/libvirtd.log >&2 2>/dev/null || true
  return 1
}

mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu
if ! virt-admin -c virtlogd:///system version >/dev/null 2>&1; then
  virtlogd -d
  wait_until virtlogd virt-admin -c virtlogd:///system version
fi
if ! virsh -c "$URI" version >/dev/null 2>&1; then
  pid=$(cat /run/libvirtd.pid 2>/dev/null || true)
  if [[ -z "$pid" || ! -d /proc/$pid ]] || [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" != libvirtd ]]; then
    echo "libvirtd-up: starting libvirtd (first start probes all emulators)"
    libvirtd -d
  fi
  wait_until libvirtd virsh -c "$URI" version
fi
echo "libvirtd-up: $(virsh -c "$URI" version | grep -i 'running hypervisor' || true)"
