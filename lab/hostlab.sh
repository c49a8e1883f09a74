#!/usr/bin/env bash
# The VM lab on a machine without a box registry, hardware virtualization or a
# network beyond the package registries (like CI's): everything runs inside a
# network namespace that this script creates and deletes, with its own libvirtd.
# No traffic leaves the namespace; the VM gets an isolated libvirt network.
#
# As root:
#   lab/hostlab.sh setup      # install tools, build (or reuse) the offline box,
#                             # prepare the wheelhouse, start the lab (first time ~5 min)
#   lab/hostlab.sh shell      # a shell inside the lab, then as usual:
#        vagrant up && pytest tests/integration
#        vagrant provision    # again: changes nothing
#        vagrant destroy -f
#   lab/hostlab.sh teardown   # destroy the VM if any, stop what `start` started
#                             # (by PID), delete the namespace
#
# Steps on their own: deps | wheels | box | start | exec CMD... | status | accel | stop
# Every step but shell and exec reads nothing from stdin (it is /dev/null).
# Settings (environment): LAB_ACCEL (kvm|tcg|auto: probe), LAB_BOX_CACHE
# (default /var/cache/demo-runtime-lab), LAB_NETNS (default demo-runtime-lab),
# LAB_MACHINES (default "debian12 debian13": the boxes to build),
# LAB_OFFLINE (default 1 here), plus the Vagrantfile's LAB_* settings.
set -euo pipefail
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
NS=${LAB_NETNS:-demo-runtime-lab}
# (not /run/demo-runtime-*: the integration tests take such names for a run's residue)
STATE=/run/lab-$NS
BOX_CACHE=${LAB_BOX_CACHE:-/var/cache/demo-runtime-lab}
# The Vagrantfile's machines whose boxes to build (default both).
LAB_MACHINES=${LAB_MACHINES:-debian12 debian13}
LOGDIR=${LAB_LOG_DIR:-$ROOT/results/lab}
VENV=$ROOT/.venv

APT_PKGS=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
          qemu-system-x86 qemu-utils dnsmasq-base iptables debootstrap grub-pc-bin grub-common
          fdisk e2fsprogs rsync openssh-client busybox-static fakeroot)

say() { printf 'hostlab: %s\n' "$*" >&2; }
die() { printf 'hostlab: error: %s\n' "$*" >&2; exit 1; }
need_root() { [[ $EUID -eq 0 ]] || die "run as root: $0 $*"; }
in_ns() { ip netns exec "$NS" "$@"; }
running() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
pidof_file() { [[ -s $1 ]] && cat "$1" || true; }

# ----------------------------------------------------------------------- deps
cmd_deps() {
    need_root deps
    local missing=() p
    for p in "${APT_PKGS[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    if (( ${#missing[@]} )); then
        say "apt: installing ${missing[*]}"
        if ! apt-cache show vagrant-libvirt >/dev/null 2>&1; then
            apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
        fi
        # No service may start outside the lab's namespace (libvirtd's postinst
        # would otherwise start it here): policy-rc.d 101 for the install.
        local policy=/usr/sbin/policy-rc.d made_policy=0
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 0755 "$policy"; made_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
            --no-install-recommends "${missing[@]}" > "$LOGDIR/apt.log" 2>&1 \
            || { (( made_policy )) && rm -f "$policy"; tail -n 20 "$LOGDIR/apt.log" >&2; die "apt-get install failed"; }
        (( made_policy )) && rm -f "$policy"
    fi
    vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt || die "vagrant-libvirt plugin not found"
    if [[ ! -x $VENV/bin/python ]]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q -e "$ROOT[test,lab]"
    fi
    if [[ ! -x $VENV/bin/ansible-playbook || ! -x $VENV/bin/ansible-lint ]]; then
        local lab_extra
        mapfile -t lab_extra < <("$VENV/bin/python" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["lab"]))' "$ROOT/pyproject.toml")
        say "pip: installing the lab extra into $VENV: ${lab_extra[*]}"
        "$VENV/bin/pip" install -q --disable-pip-version-check "${lab_extra[@]}"
    fi
    "$VENV/bin/python" -c 'import vagrant, testinfra' 2>/dev/null \
        || "$VENV/bin/pip" install -q 'python-vagrant>=1.0' 'pytest-testinfra>=10'
}

cmd_wheels() { "$HERE/prepare-offline.sh"; }

# ------------------------------------------------------------------------ box
# Build each machine's box once per content of the builder (cached outside the
# checkout), and (re)add it to Vagrant when Vagrant holds another build.
suite_of() {  # MACHINE: its Debian suite
    case $1 in
        debian12) echo bookworm ;;
        debian13) echo trixie ;;
        *) die "unknown machine '$1' in LAB_MACHINES (debian12, debian13)" ;;
    esac
}
box_volumes() {  # MACHINE: libvirt's copies of its box
    in_ns virsh -q -c qemu:///system vol-list default 2>/dev/null \
        | awk '{print $1}' | grep -F "demo-runtime-VAGRANTSLASH-$1_vagrant_box_image" || true
}
box_one() {  # MACHINE
    local machine=$1 suite hash cached added_info added="" box_file=$HERE/.box/$1-demo-runtime.box
    suite=$(suite_of "$machine")
    hash=$("$HERE/box/build-box.sh" --suite "$suite" --print-hash)
    cached=$BOX_CACHE/$machine-demo-runtime-$hash.box
    if [[ -s $cached ]]; then
        say "box: reusing $cached"
    else
        say "box: building $cached (about 3 min)"
        "$HERE/box/build-box.sh" --suite "$suite" -o "$cached"
        local keep=${cached##*/}
        find "$BOX_CACHE" -maxdepth 1 -name "$machine-demo-runtime-*" ! -name "${keep%.box}.*" -delete
    fi
    if [[ ! $box_file -ef $cached ]]; then
        rm -f "$box_file"
        ln "$cached" "$box_file" 2>/dev/null || cp "$cached" "$box_file"
    fi
    added_info=$(ls "${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/demo-runtime-VAGRANTSLASH-$machine"/*/libvirt/info.json 2>/dev/null | head -n1 || true)
    [[ -n $added_info ]] && added=$(grep -o '"inputs": *"[0-9a-f]*"' "$added_info" | grep -o '[0-9a-f]\{16\}' || true)
    if [[ $added != "$hash" ]]; then
        say "box: adding demo-runtime/$machine to Vagrant (log: $LOGDIR/box-add-$machine.log)"
        vagrant box add --force --name "demo-runtime/$machine" "$box_file" > "$LOGDIR/box-add-$machine.log" 2>&1 \
            || { tail -n 20 "$LOGDIR/box-add-$machine.log" >&2; die "vagrant box add failed"; }
        # libvirt keeps a copy of the previous build as a volume: drop it
        if [[ -e /run/netns/$NS ]]; then
            local v; for v in $(box_volumes "$machine"); do in_ns virsh -q -c qemu:///system vol-delete "$v" default >/dev/null || true; done
        else
            echo "$machine" >> "$STATE.stale-box-volume" 2>/dev/null || true
        fi
    fi
}
cmd_box() {
    need_root box
    mkdir -p "$BOX_CACHE" "$HERE/.box"
    local m; for m in $LAB_MACHINES; do box_one "$m"; done
}

# ---------------------------------------------------------------------- accel
# KVM only counts when a real guest kernel runs on it: nested KVM can look fine
# (/dev/kvm opens) and then make qemu abort ("failed to set MSR") or hang once
# Linux boots. The probe asks the lab's own libvirtd for a throwaway domain
# with the CPU mode the Vagrantfile uses under KVM (host-model), booting a
# box's kernel without a root file system: where KVM works it panics within
# seconds (panic=-1; on_reboot=destroy ends it). It waits for that domain's
# qemu to exit (an event, not a sleep) and says what happened.
PROBE_DOMAIN=$NS-kvm-probe
wait_exit() {  # PID SECONDS: wait for the process to end; false on time-out
    python3 -c 'import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
sys.exit(0 if select.select([fd], [], [], float(sys.argv[2]))[0] else 1)' "$1" "$2"
}
probe_kvm() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || { say "accel: /dev/kvm is not usable: tcg"; return 1; }
    local kernel limit=${LAB_KVM_PROBE_TIMEOUT:-25} dir=$STATE/kvm-probe pid err
    kernel=${LAB_PROBE_KERNEL:-$(ls -t "$BOX_CACHE"/*.vmlinuz "$HERE"/.box/*.vmlinuz 2>/dev/null | head -n1 || true)}
    if [[ -z $kernel ]]; then
        say "accel: no kernel to probe KVM with (the box build leaves one): tcg"
        return 1
    fi
    mkdir -p "$dir"
    : > "$dir/serial.log"
    cat > "$dir/domain.xml" <<EOF
<domain type='kvm'>
  <name>$PROBE_DOMAIN</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <cpu mode='host-model'/>
  <os><type arch='x86_64'>hvm</type><kernel>$kernel</kernel>
      <cmdline>console=ttyS0 panic=-1 loglevel=4</cmdline></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices><serial type='file'><source path='$dir/serial.log'/></serial></devices>
</domain>
EOF
    if ! err=$(in_ns virsh -q -c qemu:///system create "$dir/domain.xml" 2>&1); then
        say "accel: qemu could not start under KVM (host-model CPU): $(echo "$err" | tr '\n' ' ' | cut -c1-300): tcg"
        return 1
    fi
    pid=$(cat "/run/libvirt/qemu/$PROBE_DOMAIN.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && ! wait_exit "$pid" "$limit"; then
        in_ns virsh -q -c qemu:///system destroy "$PROBE_DOMAIN" >/dev/null 2>&1 || true
        say "accel: qemu runs under KVM, but the kernel did not boot within $limit s (serial: $(tail -c 160 "$dir/serial.log" | tr -d '\r' | tr '\n' ' ')): tcg"
        return 1
    fi
    if grep -q "Kernel panic" "$dir/serial.log"; then
        say "accel: a Linux kernel boots under KVM here (host-model CPU): kvm"
        return 0
    fi
    err=$(grep -iE 'error|fail|abort|terminating' "/var/log/libvirt/qemu/$PROBE_DOMAIN.log" 2>/dev/null | tail -n 3 | tr '\n' ' ')
    say "accel: qemu under KVM ended before the kernel ran (${err:-nothing in its log}): tcg"
    return 1
}
detect_accel() {
    local want=${LAB_ACCEL:-auto}
    case $want in
        kvm|tcg) echo "$want" ;;
        auto) if probe_kvm; then echo kvm; else echo tcg; fi ;;
        *) die "LAB_ACCEL must be kvm, tcg or auto" ;;
    esac
}
cmd_accel() {
    [[ -e /run/netns/$NS ]] || die "the lab is not running: $0 start (the probe uses its libvirtd)"
    detect_accel
}

# ---------------------------------------------------------------- start / stop
cmd_start() {
    need_root start
    if [[ -e /run/netns/$NS ]] && running "$(pidof_file "$STATE/libvirtd.pid")"; then
        say "the lab is already running (netns $NS)"; return 0
    fi
    [[ -e /run/netns/$NS ]] && die "netns $NS exists but its libvirtd is not running: run '$0 stop' first"
    if [[ -S /run/libvirt/libvirt-sock ]] && timeout 5 virsh -c qemu:///system version >/dev/null 2>&1; then
        die "a libvirtd is already running on this machine, outside the lab; stop it first (or use it directly)"
    fi
    mkdir -p "$STATE" "$LOGDIR"
    [[ -d /run/netns ]] || : > "$STATE/made-run-netns"
    [[ -d /etc/netns ]] || : > "$STATE/made-etc-netns"
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    # Inside the namespace, name resolution goes nowhere but loopback.
    mkdir -p "/etc/netns/$NS"
    echo 'nameserver 127.0.0.1' > "/etc/netns/$NS/resolv.conf"
    in_ns virtlogd -d -p "$STATE/virtlogd.pid"
    # libvirtd -d returns once its socket listens; the first connection then
    # waits until its drivers are ready (no polling).
    in_ns libvirtd -d -p "$STATE/libvirtd.pid"
    timeout 120 ip netns exec "$NS" virsh -q -c qemu:///system version >/dev/null \
        || die "libvirtd did not answer (pid $(pidof_file "$STATE/libvirtd.pid"))"
    # libvirt's own autostarted 'default' network is not needed (vagrant makes its own)
    local n; for n in $(in_ns virsh -q -c qemu:///system net-list --name); do
        in_ns virsh -q -c qemu:///system net-destroy "$n" >/dev/null || true
    done
    if ! in_ns virsh -q -c qemu:///system pool-info default >/dev/null 2>&1; then
        mkdir -p /var/lib/libvirt/images
        in_ns virsh -q -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    fi
    in_ns virsh -q -c qemu:///system pool-start default >/dev/null 2>&1 || true
    detect_accel > "$STATE/accel"
    if [[ -e $STATE.stale-box-volume ]]; then
        local m v
        for m in $(sort -u "$STATE.stale-box-volume"); do
            for v in $(box_volumes "$m"); do in_ns virsh -q -c qemu:///system vol-delete "$v" default >/dev/null || true; done
        done
        rm -f "$STATE.stale-box-volume"
    fi
    say "lab started: netns $NS, libvirtd $(cat "$STATE/libvirtd.pid"), virtlogd $(cat "$STATE/virtlogd.pid"), accel $(cat "$STATE/accel")"
}

lab_env() {  # the settings every command inside the lab sees
    LABENV=(LAB_ACCEL="$(cat "$STATE/accel" 2>/dev/null || echo tcg)"
            LAB_PROVIDER=libvirt VAGRANT_DEFAULT_PROVIDER=libvirt
            LAB_BOX="${LAB_BOX:-local}" LAB_OFFLINE="${LAB_OFFLINE:-1}"
            LAB_MGMT_NET_MODE="${LAB_MGMT_NET_MODE:-none}"
            LAB_SERIAL_LOG="${LAB_SERIAL_LOG:-/var/log/libvirt/qemu/demo-runtime-lab-serial.log}"
            VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
            PATH="$VENV/bin:$PATH")
}

cmd_exec() {
    [[ -e /run/netns/$NS ]] || die "the lab is not running: $0 start (or setup)"
    (( $# )) || die "exec needs a command"
    lab_env
    in_ns env "${LABENV[@]}" "$@"
}

cmd_shell() {
    [[ -e /run/netns/$NS ]] || die "the lab is not running: $0 setup"
    local rc=$STATE/bashrc
    cat > "$rc" <<EOF
[ -f ~/.bashrc ] && . ~/.bashrc
PS1='(lab) \w\\$ '
echo "Inside the lab (netns $NS, accel \$LAB_ACCEL, box \$LAB_BOX). Try: vagrant up && pytest tests/integration"
EOF
    cmd_exec bash --rcfile "$rc" -i
}

cmd_status() {
    if [[ ! -e /run/netns/$NS ]]; then echo "lab: stopped"; return 0; fi
    echo "lab: netns $NS; accel $(cat "$STATE/accel" 2>/dev/null)"
    echo "libvirtd pid $(pidof_file "$STATE/libvirtd.pid"), virtlogd pid $(pidof_file "$STATE/virtlogd.pid")"
    in_ns virsh -c qemu:///system list --all 2>/dev/null || true
    echo "processes in the namespace: $(ip netns pids "$NS" | tr '\n' ' ')"
}

stop_pid() {  # PID NAME: TERM, wait up to 15 s for its exit, then KILL
    local pid=$1 name=$2
    running "$pid" || return 0
    kill "$pid" 2>/dev/null || true
    wait_exit "$pid" 15 && return 0
    say "$name ($pid) did not stop within 15 s of SIGTERM, killing it"
    kill -9 "$pid" 2>/dev/null || true
    wait_exit "$pid" 15 || say "$name ($pid) outlived SIGKILL"
}

cmd_stop() {
    need_root stop
    if [[ -e /run/netns/$NS ]]; then
        local d n p
        if running "$(pidof_file "$STATE/libvirtd.pid")"; then
            for d in $(in_ns virsh -q -c qemu:///system list --name 2>/dev/null); do
                say "stopping VM $d"
                in_ns virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
            done
            for n in $(in_ns virsh -q -c qemu:///system net-list --name 2>/dev/null); do
                in_ns virsh -q -c qemu:///system net-destroy "$n" >/dev/null 2>&1 || true
            done
        fi
        stop_pid "$(pidof_file "$STATE/libvirtd.pid")" libvirtd
        stop_pid "$(pidof_file "$STATE/virtlogd.pid")" virtlogd
        # Whatever else still runs in the namespace was started by the lab
        # (dnsmasq, qemu, ssh masters): stop each by PID.
        for p in $(ip netns pids "$NS" 2>/dev/null); do
            say "stopping leftover $(ps -o comm= -p "$p" 2>/dev/null) ($p)"
            stop_pid "$p" "pid $p"
        done
        ip netns del "$NS"
    fi
    rm -rf "/etc/netns/$NS"
    if [[ -e $STATE/made-etc-netns ]]; then rmdir /etc/netns 2>/dev/null || true; fi
    if [[ -e $STATE/made-run-netns ]] && [[ -d /run/netns ]] && [[ -z $(ls -A /run/netns) ]]; then
        umount /run/netns 2>/dev/null || true
        rmdir /run/netns 2>/dev/null || true
    fi
    rm -rf "$STATE"
    say "lab stopped"
}

cmd_teardown() {
    need_root teardown
    if [[ -e /run/netns/$NS ]] && compgen -G "$ROOT/.vagrant/machines/*/libvirt/id" >/dev/null; then
        (cd "$ROOT" && cmd_exec vagrant destroy -f) || say "vagrant destroy failed; stopping the VM directly"
    fi
    cmd_stop
}

cmd_setup() {
    need_root setup
    mkdir -p "$LOGDIR"
    cmd_deps
    cmd_wheels
    cmd_box
    cmd_start
    say "ready. Next: $0 shell, then: vagrant up && pytest tests/integration"
}

mkdir -p "$LOGDIR" 2>/dev/null || true
cmd=${1:-help}; shift || true
# qemu, apt and ansible change the mode of the file they get as stdin (qemu's
# -serial stdio left a shared terminal non-blocking, and ansible refused it):
# no step but the interactive ones gets the caller's.
case $cmd in shell|exec) ;; *) exec </dev/null ;; esac
case $cmd in
    setup|deps|wheels|box|start|stop|teardown|status|accel|shell) "cmd_$cmd" "$@" ;;
    exec) cmd_exec "$@" ;;
    help|-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (see $0 help)" ;;
esac
