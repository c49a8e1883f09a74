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
# Settings (environment): LAB_ACCEL (kvm|tcg|auto: probe), LAB_BOX_CACHE
# (default /var/cache/demo-runtime-lab), LAB_NETNS (default demo-runtime-lab),
# LAB_OFFLINE (default 1 here), plus the Vagrantfile's LAB_* settings.
set -euo pipefail
umask 022
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
NS=${LAB_NETNS:-demo-runtime-lab}
STATE=/run/$NS
BOX_NAME=demo-runtime/debian12
BOX_FILE=$HERE/.box/debian12-demo-runtime.box
BOX_CACHE=${LAB_BOX_CACHE:-/var/cache/demo-runtime-lab}
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
    if [[ ! -x $VENV/bin/ansible-playbook ]]; then
        say "pip: installing ansible-core into $VENV"
        "$VENV/bin/pip" install -q 'ansible-core>=2.14'
    fi
    "$VENV/bin/python" -c 'import vagrant, testinfra' 2>/dev/null \
        || "$VENV/bin/pip" install -q 'python-vagrant>=1.0' 'pytest-testinfra>=10'
}

cmd_wheels() { "$HERE/prepare-offline.sh"; }

# ------------------------------------------------------------------------ box
# Build the box once per content of the builder (cached outside the checkout),
# and (re)add it to Vagrant when Vagrant holds another build.
box_volumes() {
    in_ns virsh -q -c qemu:///system vol-list default 2>/dev/null \
        | awk '{print $1}' | grep -F "$(echo "$BOX_NAME" | sed 's#/#-VAGRANTSLASH-#')_vagrant_box_image" || true
}
cmd_box() {
    need_root box
    local hash cached added_info added=""
    hash=$("$HERE/box/build-box.sh" --print-hash)
    cached=$BOX_CACHE/debian12-demo-runtime-$hash.box
    mkdir -p "$BOX_CACHE" "$HERE/.box"
    if [[ -s $cached ]]; then
        say "box: reusing $cached"
    else
        say "box: building $cached (about 3 min)"
        "$HERE/box/build-box.sh" -o "$cached"
        find "$BOX_CACHE" -maxdepth 1 -name 'debian12-demo-runtime-*.box*' ! -name "${cached##*/}*" -delete
    fi
    if [[ ! $BOX_FILE -ef $cached ]]; then
        rm -f "$BOX_FILE"
        ln "$cached" "$BOX_FILE" 2>/dev/null || cp "$cached" "$BOX_FILE"
    fi
    added_info=$(ls "${VAGRANT_HOME:-$HOME/.vagrant.d}"/boxes/demo-runtime-VAGRANTSLASH-debian12/*/libvirt/info.json 2>/dev/null | head -n1 || true)
    [[ -n $added_info ]] && added=$(grep -o '"inputs": *"[0-9a-f]*"' "$added_info" | grep -o '[0-9a-f]\{16\}' || true)
    if [[ $added != "$hash" ]]; then
        say "box: adding $BOX_NAME to Vagrant (log: $LOGDIR/box-add.log)"
        vagrant box add --force --name "$BOX_NAME" "$BOX_FILE" > "$LOGDIR/box-add.log" 2>&1 \
            || { tail -n 20 "$LOGDIR/box-add.log" >&2; die "vagrant box add failed"; }
        # libvirt keeps a copy of the previous build as a volume: drop it
        if [[ -e /run/netns/$NS ]]; then
            local v; for v in $(box_volumes); do in_ns virsh -q -c qemu:///system vol-delete "$v" default >/dev/null || true; done
        else
            : > "$STATE.stale-box-volume" 2>/dev/null || true
        fi
    fi
}

# ---------------------------------------------------------------------- accel
# KVM only counts when a real guest kernel runs on it: nested KVM can look fine
# (/dev/kvm opens, real-mode code runs) and then hang once Linux boots. The
# probe boots the box's kernel without a root file system; it panics within
# seconds when KVM works (panic=-1 + -no-reboot end qemu), else the timeout
# strikes and the lab uses TCG.
probe_kvm() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || { say "accel: /dev/kvm is not usable"; return 1; }
    local kernel out
    kernel=${LAB_PROBE_KERNEL:-$(ls -t "$BOX_CACHE"/*.vmlinuz "$HERE"/.box/*.vmlinuz 2>/dev/null | head -n1 || true)}
    if [[ -z $kernel ]]; then
        say "accel: no kernel to probe KVM with (the box build leaves one); using tcg"
        return 1
    fi
    out=$(timeout -k 2 "${LAB_KVM_PROBE_TIMEOUT:-25}" qemu-system-x86_64 -accel kvm -cpu host -m 256 \
            -display none -nodefaults -no-reboot -serial stdio -kernel "$kernel" \
            -append "console=ttyS0 panic=-1 loglevel=4" 2>&1 || true)
    if [[ $out == *"Kernel panic"* ]]; then
        say "accel: a Linux kernel boots under KVM here: kvm"
        return 0
    fi
    say "accel: a Linux kernel did not boot under KVM within ${LAB_KVM_PROBE_TIMEOUT:-25} s (nested KVM?): tcg"
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
cmd_accel() { detect_accel; }

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
    detect_accel > "$STATE/accel"
    [[ -d /run/netns ]] || : > "$STATE/made-run-netns"
    [[ -d /etc/netns ]] || : > "$STATE/made-etc-netns"
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    # Inside the namespace, name resolution goes nowhere but loopback.
    mkdir -p "/etc/netns/$NS"
    echo 'nameserver 127.0.0.1' > "/etc/netns/$NS/resolv.conf"
    in_ns virtlogd -d -p "$STATE/virtlogd.pid"
    in_ns libvirtd -d -p "$STATE/libvirtd.pid"
    local i
    for i in $(seq 1 60); do
        in_ns virsh -q -c qemu:///system version >/dev/null 2>&1 && break
        sleep 0.5
    done
    in_ns virsh -q -c qemu:///system version >/dev/null 2>&1 || die "libvirtd did not come up"
    # libvirt's own autostarted 'default' network is not needed (vagrant makes its own)
    local n; for n in $(in_ns virsh -q -c qemu:///system net-list --name); do
        in_ns virsh -q -c qemu:///system net-destroy "$n" >/dev/null || true
    done
    if ! in_ns virsh -q -c qemu:///system pool-info default >/dev/null 2>&1; then
        mkdir -p /var/lib/libvirt/images
        in_ns virsh -q -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    fi
    in_ns virsh -q -c qemu:///system pool-start default >/dev/null 2>&1 || true
    if [[ -e $STATE.stale-box-volume ]]; then
        local v; for v in $(box_volumes); do in_ns virsh -q -c qemu:///system vol-delete "$v" default >/dev/null || true; done
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

stop_pid() {  # PID NAME: TERM, wait up to 15 s, then KILL
    local pid=$1 name=$2 i
    running "$pid" || return 0
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do running "$pid" || return 0; sleep 0.5; done
    say "$name ($pid) did not stop, killing it"
    kill -9 "$pid" 2>/dev/null || true
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
case $cmd in
    setup|deps|wheels|box|start|stop|teardown|status|accel|shell) "cmd_$cmd" "$@" ;;
    exec) cmd_exec "$@" ;;
    help|-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (see $0 help)" ;;
esac
