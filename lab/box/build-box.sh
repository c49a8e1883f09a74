#!/usr/bin/env bash
# Build a Vagrant box for the libvirt provider from Debian packages, offline
# from any box registry: debootstrap + mkfs.ext4 -d + a GRUB core image put in
# place with dd. No loop device, no mount of the disk image, no VM needed.
#
#   lab/box/build-box.sh [--suite bookworm|trixie] [-o OUT.box] [--size GB] [--keep-raw]
#
# Run as root (debootstrap chroots). The only network it uses is the Debian
# mirror that this machine's apt already uses (or $LAB_MIRROR); it checks that
# the mirror serves the suite before it starts.
# Typical cost on a 2-core machine: ~2-3 min, a ~270 MB box file.
#
# What is in the box: Debian 12 (bookworm) or 13 (trixie) minbase, that suite's
# own kernel (linux-image-amd64), systemd,
# dbus, udev, openssh-server, sudo, ifupdown + DHCP on eth0, rsync, python3 and
# every package of lab/packages.txt, user `vagrant` (password `vagrant`,
# passwordless sudo, Vagrant's insecure public key from Debian's vagrant package).
set -euo pipefail
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname -- "$HERE")
PROG=${0##*/}

OUT=""
SIZE_GB=${LAB_BOX_DISK_GB:-12}
SUITE=${LAB_SUITE:-bookworm}
KEEP_RAW=0
PRINT_HASH=0

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --suite SUITE       Debian suite: bookworm (default; env LAB_SUITE) or trixie
  -o, --output FILE   box file to write (default: lab/.box/debianNN-demo-runtime.box)
  --size GB           virtual disk size in GiB (default $SIZE_GB; env LAB_BOX_DISK_GB)
  --keep-raw          keep the raw disk image next to the box (for debugging)
  --print-hash        print the hash of this builder's inputs and exit
Environment:
  LAB_MIRROR          Debian mirror URL (default: the first one in this machine's apt sources)
  TMPDIR              where the ~3 GB of scratch space go (default /var/tmp)
EOF
}

# The inputs that decide the box's content; CI keys its box cache on this.
inputs_hash() {
    cat "$HERE/build-box.sh" "$LAB/packages.txt" | { cat; printf '%s\n' "$SUITE" "$SIZE_GB"; } \
        | sha256sum | cut -c1-16
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --suite) SUITE=${2:?}; shift 2 ;;
        -o|--output) OUT=${2:?}; shift 2 ;;
        --size) SIZE_GB=${2:?}; shift 2 ;;
        --keep-raw) KEEP_RAW=1; shift ;;
        --print-hash) PRINT_HASH=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case $SUITE in
    bookworm) RELEASE=12 ;;
    trixie) RELEASE=13 ;;
    *) die "--suite must be bookworm or trixie (got '$SUITE')" ;;
esac
OUT=${OUT:-$LAB/.box/debian$RELEASE-demo-runtime.box}
# The box's own hostname. Vagrant adds the lab's hostname (demo-runtime-*) to
# /etc/hosts only when no word of it is there yet, so these must share no word.
BOX_HOSTNAME=$SUITE-box
(( PRINT_HASH )) && { inputs_hash; exit 0; }
[[ $SIZE_GB =~ ^[0-9]+$ ]] && (( SIZE_GB >= 4 )) || die "--size must be a whole number of GiB, at least 4"
[[ $EUID -eq 0 ]] || die "run as root (debootstrap needs chroot)"

for tool in debootstrap mkfs.ext4 sfdisk grub-mkimage qemu-img unshare tar curl; do
    command -v "$tool" >/dev/null || die "$tool not found; apt-get install debootstrap e2fsprogs fdisk grub-pc-bin grub-common qemu-utils util-linux"
done
GRUB_DIR=/usr/lib/grub/i386-pc
[[ -f $GRUB_DIR/boot.img ]] || die "$GRUB_DIR/boot.img not found (apt-get install grub-pc-bin)"
VAGRANT_PUB=$(dpkg -L vagrant 2>/dev/null | grep -m1 '/keys/vagrant\.pub$' || true)
[[ -n $VAGRANT_PUB && -f $VAGRANT_PUB ]] || die "Vagrant's insecure public key not found (apt-get install vagrant)"

# The Debian mirror this machine's apt already uses; no host name is hard-coded.
# Any suite's line names the mirror: one mirror serves every suite.
apt_uris() {  # security|main: the URIs of this machine's apt sources of that kind
    local f
    {
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            awk '/^[ \t]*$/ { if (uri) print uri, suite; uri=""; suite=""; next }
                 /^URIs:/ { uri=$2 } /^Suites:/ { suite=$2 } END { if (uri) print uri, suite }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            sed -E -n 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' "$f"
        done
    } | awk -v kind="$1" '($2 ~ /-security$/) == (kind == "security") { print $1 }' | head -n1
}
MIRROR=${LAB_MIRROR:-$(apt_uris main)}
[[ -n $MIRROR ]] || die "no Debian mirror in this machine's apt sources; set LAB_MIRROR"
SECURITY_MIRROR=${LAB_SECURITY_MIRROR:-$(apt_uris security)}
curl -fsS -o /dev/null --max-time 30 "$MIRROR/dists/$SUITE/Release" \
    || die "the mirror $MIRROR does not serve Debian $SUITE (no dists/$SUITE/Release); set LAB_MIRROR"

mapfile -t LAB_PKGS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$LAB/packages.txt")
BASE_PKGS=(linux-image-amd64 systemd systemd-sysv dbus udev openssh-server sudo
           ifupdown isc-dhcp-client rsync procps kmod netbase iputils-ping less)
INCLUDE=$(IFS=,; echo "${BASE_PKGS[*]},${LAB_PKGS[*]}")

mkdir -p -- "$(dirname -- "$OUT")"
OUT=$(cd -- "$(dirname -- "$OUT")" && pwd)/${OUT##*/}
# (not demo-runtime-*: the integration tests take such names for a run's residue)
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/lab-box.XXXXXX")
cleanup() { rm -rf --one-file-system -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
ROOT=$WORK/rootfs
T0=$SECONDS
stamp() { printf '%s: [%4ss] %s\n' "$PROG" "$((SECONDS - T0))" "$*" >&2; }

# --- 1. debootstrap ------------------------------------------------------------
# In a private mount namespace: the /proc and /sys that debootstrap mounts into
# the chroot vanish with it, even if it fails half-way.
stamp "debootstrap $SUITE (minbase + ${#BASE_PKGS[@]} base + ${#LAB_PKGS[@]} lab packages) from $MIRROR"
if ! unshare --mount --propagation private \
        debootstrap --variant=minbase --components=main --include="$INCLUDE" \
        "$SUITE" "$ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [[ -f $ROOT/debootstrap/debootstrap.log ]] && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log above)"
fi
stamp "debootstrap done"

# --- 2. configure --------------------------------------------------------------
UUID=$(cat /proc/sys/kernel/random/uuid)
KVER=$(ls "$ROOT/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)
[[ -n $KVER && -f $ROOT/boot/initrd.img-$KVER ]] || die "no kernel/initrd in the rootfs"

echo "$BOX_HOSTNAME" > "$ROOT/etc/hostname"
cat > "$ROOT/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$BOX_HOSTNAME
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# debootstrap copied the build host's resolv.conf; its name servers are not
# reachable from a VM and make every sudo wait ~10 s. DHCP fills it at boot.
: > "$ROOT/etc/resolv.conf"
echo "UUID=$UUID / ext4 errors=remount-ro 0 1" > "$ROOT/etc/fstab"
# Online VMs get updates too (the box itself is the point release debootstrap installs).
{
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [[ -z $SECURITY_MIRROR ]] || echo "deb $SECURITY_MIRROR $SUITE-security main"
} > "$ROOT/etc/apt/sources.list"
cat > "$ROOT/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*
auto lo
iface lo inet loopback
allow-hotplug eth0
iface eth0 inet dhcp
EOF
# Each VM gets its own machine id and ssh host keys at first boot.
: > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT"/etc/ssh/ssh_host_*
cat > "$ROOT/etc/systemd/system/ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate ssh host keys on first boot
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target ssh.service
EOF
mkdir -p "$ROOT/etc/ssh/sshd_config.d"
printf 'UseDNS no\nGSSAPIAuthentication no\n' > "$ROOT/etc/ssh/sshd_config.d/vagrant.conf"

install -d -m 0750 "$ROOT/etc/sudoers.d"
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$ROOT/etc/sudoers.d/vagrant"
chmod 0440 "$ROOT/etc/sudoers.d/vagrant"
install -m 0644 "$VAGRANT_PUB" "$WORK/vagrant.pub"

cat > "$ROOT/tmp/configure.sh" <<'EOF'
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
useradd -m -s /bin/bash -U vagrant
echo vagrant:vagrant | chpasswd
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant /tmp/vagrant.pub /home/vagrant/.ssh/authorized_keys
echo root:vagrant | chpasswd
systemctl enable ssh-hostkeys.service >/dev/null 2>&1
systemctl enable ssh.service networking.service >/dev/null 2>&1 || true
# Nothing may hold the dpkg lock or spend CPU behind the provisioner's back.
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
# No documentation, manual pages or translations: ~60 MB less, now and for later installs.
cat > /etc/dpkg/dpkg.cfg.d/01-lab-nodoc <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
NODOC
find /usr/share/doc -type f ! -name copyright -delete
find /usr/share/doc -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /tmp/vagrant.pub /tmp/configure.sh
EOF
cp "$WORK/vagrant.pub" "$ROOT/tmp/vagrant.pub"
chroot "$ROOT" /bin/sh /tmp/configure.sh
[[ -e $ROOT/vmlinuz ]] || ln -s "boot/vmlinuz-$KVER" "$ROOT/vmlinuz"
[[ -e $ROOT/initrd.img ]] || ln -s "boot/initrd.img-$KVER" "$ROOT/initrd.img"
stamp "configured (kernel $KVER, root UUID $UUID)"

# --- 3. the disk: MBR + partition 1 at 1 MiB, ext4 written by mkfs -d ----------
RAW=$WORK/disk.raw
OFFSET=$((1024 * 1024))
truncate -s "${SIZE_GB}G" "$RAW"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk --quiet "$RAW"
FS_BLOCKS=$(( (SIZE_GB * 1024 * 1024 * 1024 - OFFSET) / 4096 ))
mkfs.ext4 -q -F -b 4096 -L rootfs -U "$UUID" -E "offset=$OFFSET,lazy_itable_init=1,lazy_journal_init=1" \
    -d "$ROOT" "$RAW" "$FS_BLOCKS"
stamp "ext4 written ($(du -sm "$ROOT" | cut -f1) MiB of files)"

# GRUB for BIOS: boot.img in the MBR's code area, and a core image holding its
# own config right after the MBR (the gap before the partition). grub-mkimage
# fills in the core's sector count; boot.img's default is "core at sector 1".
cat > "$WORK/grub-early.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
search --no-floppy --fs-uuid --set=root $UUID
linux /vmlinuz root=UUID=$UUID ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0
initrd /initrd.img
boot
EOF
grub-mkimage -O i386-pc -o "$WORK/core.img" -c "$WORK/grub-early.cfg" -p "(hd0,msdos1)/boot/grub" \
    biosdisk part_msdos ext2 search search_fs_uuid linux boot serial terminal
CORE_SECTORS=$(( ($(stat -c %s "$WORK/core.img") + 511) / 512 ))
(( CORE_SECTORS < 2047 )) || die "GRUB core image too large for the MBR gap"
dd if="$GRUB_DIR/boot.img" of="$RAW" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$RAW" bs=512 seek=1 conv=notrunc status=none
stamp "GRUB core image placed ($CORE_SECTORS sectors)"

# --- 4. qcow2 + box -------------------------------------------------------------
qemu-img convert -c -O qcow2 "$RAW" "$WORK/box.img"
cat > "$WORK/metadata.json" <<EOF
{"provider": "libvirt", "format": "qcow2", "virtual_size": $SIZE_GB}
EOF
cat > "$WORK/Vagrantfile" <<EOF
# Box built by demo-runtime's lab/box/build-box.sh (Debian $RELEASE, debootstrap).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
EOF
cat > "$WORK/info.json" <<EOF
{"author": "demo-runtime lab/box/build-box.sh", "suite": "$SUITE", "release": "$RELEASE", "kernel": "$KVER",
 "inputs": "$(inputs_hash)", "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
EOF
tar -C "$WORK" -cf "$OUT.part" metadata.json Vagrantfile info.json box.img
mv -f "$OUT.part" "$OUT"
inputs_hash > "$OUT.inputs"
# The kernel, next to the box: lab/hostlab.sh boots it to find out whether KVM
# really runs a guest here (nested KVM can hang where /dev/kvm looks fine).
cp -L "$ROOT/boot/vmlinuz-$KVER" "${OUT%.box}.vmlinuz"
if (( KEEP_RAW )); then mv "$RAW" "${OUT%.box}.raw"; fi
stamp "box written: $OUT ($(du -m "$OUT" | cut -f1) MB; disk ${SIZE_GB} GiB virtual)"
