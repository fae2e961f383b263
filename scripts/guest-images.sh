#!/usr/bin/env bash
# guest-images.sh [ARCH...] — real Debian guest kernels and a busybox initramfs (with
# the kernel's virtio NIC modules) for each guest architecture, for tests and demos of
# real (TCG) guests:
#   $VIRTFLEET_IMAGES/vmlinuz-ARCH and $VIRTFLEET_IMAGES/initrd-ARCH.gz
# (default /var/lib/virtfleet/guest-images). ARCH: x86_64 aarch64 armv7l ppc64le s390x
# mipsel riscv64 (default: all). Foreign-architecture packages are fetched with a
# private apt state per architecture, so the host's dpkg and apt lists are untouched.
# Idempotent: an ARCH whose files exist is skipped (VIRTFLEET_IMAGES_FORCE=1 redoes it).
set -euo pipefail

OUT=${VIRTFLEET_IMAGES:-/var/lib/virtfleet/guest-images}
STATE=${VIRTFLEET_APT_STATE:-/var/tmp/virtfleet-apt}
HERE=$(cd "$(dirname "$0")" && pwd)
# The machine's own Debian mirrors (its apt sources); deb.debian.org only if it has none.
source "$HERE/lib/apt-mirrors.sh"
MIRROR=${VIRTFLEET_DEBIAN_MIRROR:-$(debian_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${VIRTFLEET_DEBIAN_SECURITY:-$(debian_security_mirror)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# bumped when the initramfs changes (2: NIC modules, vf.net/vf.ping/vf.meta; 3: DHCP on
# every NIC, modules loaded after their dependencies), so images made by an older script
# are made again
INITRD_VERSION=3

# guest arch -> Debian arch, suite, kernel metapackage (riscv64 is a trixie arch)
declare -A SOURCES=(
  [x86_64]="amd64 bookworm linux-image-cloud-amd64"
  [aarch64]="arm64 bookworm linux-image-cloud-arm64"
  [armv7l]="armhf bookworm linux-image-armmp"
  [ppc64le]="ppc64el bookworm linux-image-powerpc64le"
  [s390x]="s390x bookworm linux-image-s390x"
  [mipsel]="mipsel bookworm linux-image-4kc-malta"
  [riscv64]="riscv64 trixie linux-image-riscv64"
)

prepare() {  # prepare ARCH
  local arch=$1 debarch suite meta dir pkg kernel busybox
  read -r debarch suite meta <<<"${SOURCES[$arch]:?unknown guest arch '$arch' (known: ${!SOURCES[*]})}"
  if [[ -s $OUT/vmlinuz-$arch && -s $OUT/initrd-$arch.gz && "${VIRTFLEET_IMAGES_FORCE:-0}" != 1 &&
        $(cat "$OUT/initrd-$arch.version" 2>/dev/null) == "$INITRD_VERSION" ]]; then
    echo "guest-images: $arch ready"
    return 0
  fi
  dir=$STATE/$debarch-$suite
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc/parts" "$dir/pkgs" "$OUT"
  {
    echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
    if [[ $suite == bookworm ]]; then echo "deb [signed-by=$KEYRING] $SECURITY $suite-security main"; fi
  } >"$dir/etc/sources.list"
  local apt_opts=(
    -o "APT::Architecture=$debarch" -o "APT::Architectures::=$debarch"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o "Dir::State::status=/dev/null" -o "Dir::Etc::SourceList=$dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$dir/etc/parts" -o "Acquire::Retries=3"
  )
  for _ in 1 2 3; do  # a mirror in the middle of a sync can fail one list
    if apt-get -qq "${apt_opts[@]}" update >/dev/null 2>&1; then break; fi
    if apt-cache "${apt_opts[@]}" show "$meta" >/dev/null 2>&1; then break; fi
    sleep 3
  done
  pkg=$(apt-cache "${apt_opts[@]}" depends "$meta" | awk '/Depends: linux-image-/ {print $2; exit}')
  if [[ -z $pkg ]]; then
    echo "guest-images: cannot resolve $meta for $debarch" >&2
    return 1
  fi
  rm -rf "$dir/pkgs" "$dir/root" && mkdir -p "$dir/pkgs" "$dir/root"
  (cd "$dir/pkgs" && apt-get -qq "${apt_opts[@]}" download "$pkg" busybox-static 2>&1 |
    grep -v 'Download is performed unsandboxed' || true)
  dpkg-deb --fsys-tarfile "$dir"/pkgs/"$pkg"_*.deb | tar -x -C "$dir/root" ./boot
  # the virtio NIC drivers the kernel has as modules, in load order (for vf.net guests)
  dpkg-deb --fsys-tarfile "$dir"/pkgs/"$pkg"_*.deb |
    tar -x -C "$dir/root" --wildcards '*/virtio*.ko*' '*/failover.ko*' '*/net_failover.ko*' 2>/dev/null || true
  modules=()
  for name in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
              virtio_mmio failover net_failover virtio_net; do
    found=$(find "$dir/root" -name "$name.ko*" | head -1)
    [[ -n $found ]] && modules+=("$found")
  done
  dpkg-deb -x "$dir"/pkgs/busybox-static_*.deb "$dir/root"
  kernel=$(ls "$dir"/root/boot/vmlinu[xz]-* | head -1)
  busybox=$dir/root/bin/busybox
  [[ -f $busybox ]] || busybox=$dir/root/usr/bin/busybox
  cp "$kernel" "$OUT/vmlinuz-$arch.tmp" && mv "$OUT/vmlinuz-$arch.tmp" "$OUT/vmlinuz-$arch"
  python3 "$HERE/mkinitramfs.py" "$busybox" "$OUT/initrd-$arch.gz" "${modules[@]}"
  echo "$INITRD_VERSION" >"$OUT/initrd-$arch.version"
  echo "guest-images: $arch from $pkg"
  rm -rf "$dir/pkgs" "$dir/root"
}

if (($#)); then archs=("$@"); else archs=(x86_64 aarch64 armv7l ppc64le s390x mipsel riscv64); fi
for arch in "${archs[@]}"; do prepare "$arch"; done
