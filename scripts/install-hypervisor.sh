#!/usr/bin/env bash
# Install libvirt, QEMU with the TCG emulators virtfleet uses, qemu-img, the build
# dependencies of libvirt-python and what a host's guest networks run on (iproute2,
# dnsmasq, nftables), on Debian, without systemd. Idempotent.
#
# Environment:
#   VIRTFLEET_SKIP_APT=1   do not touch apt (everything already installed)
set -euo pipefail

PACKAGES=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients  # libvirtd, virtlogd, virsh
  libvirt-dev pkg-config gcc                                 # to build libvirt-python
  qemu-utils                                                 # qemu-img (disk overlays)
  fdisk dosfstools mtools                                    # sfdisk, mkfs.fat, mcopy: the arch-inference tests' disks
  qemu-system-x86 qemu-system-arm qemu-system-ppc            # x86_64/i686, aarch64/armv7l, ppc64(le)
  qemu-system-misc qemu-system-mips                          # s390x + riscv64, mips(el)
  iproute2 dnsmasq-base nftables                             # guest networks: bridges, DHCP, security groups
  busybox-static                                             # ping/udhcpc in the network tests' namespaces
  novnc                                                      # the console proxy's noVNC web client
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})) && [[ "${VIRTFLEET_SKIP_APT:-0}" != 1 ]]; then
  echo "install-hypervisor: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's QEMU driver runs guests as libvirt-qemu, a user that only the (systemd-bound)
# libvirt-daemon-system package creates; without it the QEMU driver does not load.
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
  useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu

# Guests run as root so QEMU can read kernels and write console logs wherever the
# instance directory is (a test and demo machine, not a hardened production host).
conf=/etc/libvirt/qemu.conf
for key in user group; do
  if grep -qE "^${key}[[:space:]]*=" "$conf"; then
    sed -i -E "s/^${key}[[:space:]]*=.*/${key} = \"root\"/" "$conf"
  else
    echo "${key} = \"root\"" >>"$conf"
  fi
done
mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu
echo "install-hypervisor: $(libvirtd --version); $(qemu-system-x86_64 --version | head -1)"
