#!/usr/bin/env bash
# cloud-image.sh [ARCH...] — a Debian 12 (bookworm) cloud guest image, built from
# Debian packages with mmdebstrap, for tests, the demo and the docs:
#   $VIRTFLEET_IMAGES/debian-12-cloud-KEY/ARCH.qcow2    the root filesystem (ext4 on the
#                                                       whole disk, no partition table)
#   $VIRTFLEET_IMAGES/debian-12-cloud-KEY/ARCH.vmlinuz  its kernel and initramfs, for a
#   $VIRTFLEET_IMAGES/debian-12-cloud-KEY/ARCH.initrd   direct kernel boot (kernel_id,
#                                                       ramdisk_id, os_command_line)
#   $VIRTFLEET_IMAGES/debian-12-cloud-KEY/ARCH.cmdline  the kernel command line to use
# (default /var/lib/virtfleet/guest-images). KEY is the first 16 hex digits of this
# file's sha256, so an image is built again exactly when this script changes, and CI
# reuses the cached one otherwise; directories of older keys are removed.
# `cloud-image.sh --dir` prints the directory for the current key and builds nothing;
# `cloud-image.sh --sources` prints the apt entries a build would use.
#
# The guest: the generic kernel, initramfs-tools, systemd-networkd and -resolved (no
# ifupdown, no netplan: cloud-init renders the network config for networkd), cloud-init with the
# ConfigDrive, OpenStack and NoCloud datasources only, openssh-server (host keys made
# at first boot), qemu-guest-agent, sudo; no recommends, no docs. Serial console on
# ttyS0 (ttyAMA0 on aarch64), login user `debian` (cloud-init's default user; keys only).
#
# Packages come from the machine's own apt sources (its bookworm entries, as
# `apt-get indextargets` reports them). ARCH: x86_64 (default), aarch64 (needs
# qemu-user-static to run the arm64 maintainer scripts; installed when missing).
set -euo pipefail

OUT=${VIRTFLEET_IMAGES:-/var/lib/virtfleet/guest-images}
SELF=$(readlink -f "$0")
KEY=$(sha256sum "$SELF" | cut -c1-16)
DIR=$OUT/debian-12-cloud-$KEY
SUITE=bookworm
DEBS=${VIRTFLEET_DEB_CACHE:-/var/cache/virtfleet/cloud-image-debs}


# guest arch -> Debian arch, kernel package, serial console
declare -A DEBARCH=([x86_64]=amd64 [aarch64]=arm64)
# the generic kernels: the cloud flavours lack AHCI, and x86_64 q35 guests get their
# config drive on SATA
declare -A KERNEL=([x86_64]=linux-image-amd64 [aarch64]=linux-image-arm64)
declare -A CONSOLE=([x86_64]=ttyS0 [aarch64]=ttyAMA0)

say() { echo "cloud-image: $*" >&2; }

apt_install() {  # apt_install PACKAGE... — those not installed yet
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  flock /tmp/virtfleet-apt.lock apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

host_sources() {  # the machine's bookworm apt entries, one-line style
  if ! apt-get indextargets 'Created-By: Packages' | grep -q "^Codename: $SUITE"; then
    flock /tmp/virtfleet-apt.lock apt-get update -q >/dev/null
  fi
  # one "deb URI RELEASE COMPONENT" per Packages index of the host architecture whose
  # codename is bookworm or bookworm-*, components of one URI and release joined
  apt-get indextargets 'Created-By: Packages' "Architecture: $(dpkg --print-architecture)" |
    awk -v suite="$SUITE" '
      /^Codename: / { codename = $2 }
      /^Origin: / { origin = $2 }
      /^Release: / { release = $2 }
      /^Repo-URI: / { uri = $2 }
      /^Component: / { component = $2 }
      /^$/ {
        if (codename == suite || index(codename, suite "-") == 1) {
          key = uri " " release
          if (!(key in comps)) { order[++n] = key; kind[key] = origin }
          if (index(" " comps[key] " ", " " component " ") == 0) comps[key] = comps[key] " " component
        }
        codename = origin = release = uri = component = ""
      }
      END {
        for (i = 1; i <= n; i++) {
          opt = kind[order[i]] == "Debian" ? "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " : ""
          print "deb " opt order[i] comps[order[i]]
        }
      }'
}

write_customize() {  # write_customize FILE ARCH — the hook that finishes the root tree
  local console=${CONSOLE[$2]}
  cat >"$1" <<EOF
#!/bin/sh
# mmdebstrap customize hook: \$1 is the root tree
set -eu
root=\$1
# cloud-init: three datasources, networkd, trimmed module lists, quick host keys
cat >"\$root/etc/cloud/cloud.cfg.d/90-virtfleet.cfg" <<'CFG'
datasource_list: [ConfigDrive, OpenStack, NoCloud, None]
datasource:
  OpenStack:
    max_wait: 30
    timeout: 5
    retries: 2
system_info:
  network:
    renderers: [networkd]
    activators: [networkd]
ssh_genkeytypes: [ed25519]
ssh_deletekeys: true
cloud_init_modules:
  - migrator
  - seed_random
  - bootcmd
  - write-files
  - resizefs
  - disk_setup
  - mounts
  - set_hostname
  - update_hostname
  - update_etc_hosts
  - ca-certs
  - rsyslog
  - users-groups
  - ssh
cloud_config_modules:
  - ssh-import-id
  - keyboard
  - set-passwords
  - timezone
  - disable-ec2-metadata
  - runcmd
cloud_final_modules:
  - package-update-upgrade-install
  - write-files-deferred
  - scripts-vendor
  - scripts-per-once
  - scripts-per-boot
  - scripts-per-instance
  - scripts-user
  - ssh-authkey-fingerprints
  - keys-to-console
  - install-hotplug
  - phone-home
  - final-message
  - power-state-change
CFG
# ds-identify: search for the datasources above; where it sees none (a device that
# came up after systemd's generators ran), cloud-init still looks for itself
printf 'policy: search,found=all,maybe=all,notfound=enabled\n' >"\$root/etc/cloud/ds-identify.cfg"
# no ifupdown/netplan: networkd brings up what cloud-init renders; wait-online gives
# up soon on a network without DHCP
chroot "\$root" systemctl enable systemd-networkd.service
mkdir -p "\$root/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"\$root/etc/systemd/system/systemd-networkd-wait-online.service.d/virtfleet.conf" <<'UNIT'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
UNIT
# serial console login; nothing that runs on timers or scrubs disks at boot
chroot "\$root" systemctl enable serial-getty@$console.service
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
            fstrim.timer man-db.timer dpkg-db-backup.timer getty@tty1.service \
            systemd-pstore.service; do
  chroot "\$root" systemctl disable "\$unit" >/dev/null 2>&1 || true
  chroot "\$root" systemctl mask "\$unit" >/dev/null 2>&1 || true
done
# a small initramfs of our own (busybox, the virtio/SCSI disk drivers, ext4, and the
# CD-ROM drivers, so that ds-identify sees a config drive when systemd's generators run,
# before udev): the Debian one starts udev and takes half a minute under TCG
kver=\$(ls "\$root/lib/modules" | head -1)
ird=\$root/tmp/initrd
mkdir -p "\$ird/bin" "\$ird/dev" "\$ird/proc" "\$ird/sys" "\$ird/root" "\$ird/modules"
cp "\$root/bin/busybox" "\$ird/bin/busybox"
# (update-initramfs is still diverted to true: the purge's trigger makes no initrd)
chroot "\$root" dpkg --purge busybox-static >/dev/null
mknod -m 600 "\$ird/dev/console" c 5 1
n=10
for mod in \$(chroot "\$root" modprobe --show-depends -S "\$kver" -a virtio_pci virtio_mmio \\
             virtio_blk virtio_scsi sd_mod ext4 ahci ata_piix sr_mod 2>/dev/null | awk '\$1 == "insmod" && !seen[\$2]++ {print \$2}'); do
  cp "\$root\$mod" "\$ird/modules/\$n-\${mod##*/}"
  n=\$((n + 1))
done
cat >"\$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for mod in /modules/*; do
  case \$mod in
    *-scsi_mod.ko*) insmod "\$mod" scan=sync 2>/dev/null ;;  # disks and CD-ROMs before init
    *) insmod "\$mod" 2>/dev/null ;;
  esac
done
root=/dev/vda fstype=ext4 flags=rw
for arg in \$(cat /proc/cmdline); do
  case \$arg in
    root=*) root=\${arg#root=} ;;
    rootfstype=*) fstype=\${arg#rootfstype=} ;;
    ro | rw) flags=\$arg ;;
  esac
done
i=0
while [ \$i -lt 600 ]; do  # up to 60 s for the disk to appear
  case \$root in LABEL=* | UUID=*) dev=\$(findfs "\$root" 2>/dev/null) ;; *) dev=\$root ;; esac
  [ -b "\$dev" ] && break
  sleep 0.1
  i=\$((i + 1))
done
if ! mount -t "\$fstype" -o "\$flags" "\$dev" /root; then
  echo "initramfs: cannot mount root \$root (\$dev) as \$fstype; a shell follows"
  exec sh
fi
mount --move /dev /root/dev
umount /proc /sys
exec switch_root /root /sbin/init
INIT
chmod 755 "\$ird/init"
chroot "\$root" sh -c 'cd /tmp/initrd && find . | cpio --quiet -o -H newc | gzip -9' >"\$root/boot/initrd.img-\$kver"
rm -rf "\$ird"
rm "\$root/usr/sbin/update-initramfs"
chroot "\$root" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
# units that only cost boot time in a guest
for unit in modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service \\
            modprobe@dm_mod.service modprobe@loop.service systemd-binfmt.service \\
            sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount; do
  chroot "\$root" systemctl mask "\$unit" >/dev/null 2>&1 || true
done
# root filesystem on the whole disk (/dev/vda); no swap
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"\$root/etc/fstab"
# first boot makes its own machine id, host keys and hostname
: >"\$root/etc/machine-id"
rm -f "\$root/var/lib/dbus/machine-id" "\$root"/etc/ssh/ssh_host_*
echo localhost >"\$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"\$root/etc/hosts"
# no password logins over ssh (keys only); root has no password
printf 'PasswordAuthentication no\n' >"\$root/etc/ssh/sshd_config.d/virtfleet.conf"
rm -rf "\$root"/var/lib/apt/lists/* "\$root"/var/cache/apt/*.bin "\$root"/var/log/*.log
EOF
  chmod +x "$1"
}

build() {  # build ARCH
  local arch=$1 debarch kernel work start size
  debarch=${DEBARCH[$arch]:?unknown guest arch '$arch' (known: ${!DEBARCH[*]})}
  kernel=${KERNEL[$arch]}
  if [[ -s $DIR/$arch.qcow2 && -s $DIR/$arch.vmlinuz && -s $DIR/$arch.initrd ]]; then
    say "$arch ready in $DIR"
    return 0
  fi
  start=$(date +%s)
  if [[ $debarch != "$(dpkg --print-architecture)" ]]; then
    apt_install qemu-user-static binfmt-support
  fi
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/cloud-image.XXXXXX")
  # shellcheck disable=SC2064  # expand $work now
  trap "rm -rf '$work'" RETURN
  host_sources >"$work/sources.list"
  [[ -s $work/sources.list ]] || { say "no $SUITE entry in the machine's apt sources"; return 1; }
  write_customize "$work/customize.sh" "$arch"
  say "$arch: mmdebstrap from $(awk '{printf "%s ", $3}' "$work/sources.list")"
  local excludes=() tree
  for tree in drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet \
              drivers/infiniband drivers/staging drivers/bluetooth drivers/isdn drivers/iio \
              drivers/mtd drivers/hwmon drivers/usb/gadget drivers/input/touchscreen sound \
              net/wireless net/mac80211 net/bluetooth; do
    excludes+=(--dpkgopt="path-exclude=/lib/modules/*/kernel/$tree/*")
  done
  # downloaded packages are kept between builds (a new key mostly reuses them)
  mkdir -p "$DEBS/$debarch"
  mmdebstrap --quiet --variant=apt --architectures="$debarch" --skip=essential/unlink \
    --include="$kernel,initramfs-tools,busybox-static,systemd,systemd-sysv,systemd-resolved,udev,dbus,cloud-init,openssh-server,qemu-guest-agent,sudo,e2fsprogs,iproute2,ca-certificates" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "${excludes[@]}" \
    --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\"; cp -a '$DEBS/$debarch/.' \"\$1/var/cache/apt/archives/\"" \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
    --customize-hook="rm -rf '$DEBS/$debarch' && mkdir -p '$DEBS/$debarch' && cp -a \"\$1\"/var/cache/apt/archives/*.deb '$DEBS/$debarch/'" \
    --customize-hook="$work/customize.sh \"\$1\"" \
    "$SUITE" "$work/root" "$work/sources.list"
  mkdir -p "$DIR"
  cp "$(ls "$work"/root/boot/vmlinuz-* | head -1)" "$work/vmlinuz"
  cp "$(ls "$work"/root/boot/initrd.img-* | head -1)" "$work/initrd"
  # ext4 on the whole disk, filled from the tree without mounting; 2 GiB virtual,
  # cloud-init's resizefs grows it to the instance's disk
  mkfs.ext4 -q -L cloudimg-rootfs -d "$work/root" "$work/root.raw" 2G
  qemu-img convert -c -f raw -O qcow2 "$work/root.raw" "$work/root.qcow2"
  echo "console=${CONSOLE[$arch]} root=/dev/vda rw" >"$DIR/$arch.cmdline"
  mv "$work/vmlinuz" "$DIR/$arch.vmlinuz"
  mv "$work/initrd" "$DIR/$arch.initrd"
  mv "$work/root.qcow2" "$DIR/$arch.qcow2"
  size=$(du -m "$DIR/$arch.qcow2" | cut -f1)
  say "$arch built in $(($(date +%s) - start)) s: $DIR/$arch.qcow2 (${size} MiB)"
}

main() {
  case ${1:-} in
    --dir) echo "$DIR"; exit 0 ;;
    --sources) host_sources; exit 0 ;;
  esac
  apt_install mmdebstrap e2fsprogs qemu-utils
  if (($#)); then archs=("$@"); else archs=(x86_64); fi
  for arch in "${archs[@]}"; do build "$arch"; done
  # images of older keys (an older script) are not used again
  for old in "$OUT"/debian-12-cloud-*; do
    if [[ -d $old && $old != "$DIR" ]]; then rm -rf "$old" && say "removed $old"; fi
  done
}

# one line, so that bash has read all of it before the script file can change
main "$@"; exit $?
