#!/usr/bin/env bash
# CI's lab stage, also runnable by hand as root on a fresh Debian 12 machine:
#
#   lab/ci.sh
#
# 1. tools (apt: vagrant, vagrant-libvirt, libvirt, qemu, debootstrap...; pip: ansible-core)
# 2. the wheelhouse (lab/prepare-offline.sh) and the offline box (built, or reused
#    from /var/cache/demo-runtime-lab, keyed by a hash of the builder's inputs)
# 3. a network namespace with virtlogd + libvirtd (lab/hostlab.sh start); KVM when
#    a guest kernel really boots on it, else TCG
# 4. vagrant up (provisions with lab/site.yml, offline)
# 5. pytest tests/integration against the VM -> results/junit-integration-vm.xml,
#    results/isolation-vagrant-default.md
# 6. vagrant provision again: must report changed=0
# 7. the playbook against a second inventory (the same VM as a plain ssh host,
#    source shipped from here), twice: the second run must report changed=0
# 8. vagrant destroy -f, then everything started is stopped by PID and the
#    namespace deleted -- also when a step fails (trap).
# Each stage's duration is printed at the end. Logs: results/lab/.
set -uo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
cd "$ROOT"
export LAB_LOG_DIR=$ROOT/results/lab
LOG=$LAB_LOG_DIR
mkdir -p "$LOG"
[[ $EUID -eq 0 ]] || { echo "lab/ci.sh: run as root" >&2; exit 1; }

HOSTLAB=$HERE/hostlab.sh
T_ALL=$SECONDS
TIMES=()
FAILED=""

stage() {  # NAME CMD...: run, time, record
    local name=$1 t=$SECONDS rc
    shift
    echo "=== lab: $name"
    "$@"
    rc=$?
    TIMES+=("$(printf '%-34s %5ss  %s' "$name" "$((SECONDS - t))" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")")")
    echo "=== lab: $name: $((SECONDS - t)) s$([[ $rc == 0 ]] || echo ", FAILED (exit $rc)")"
    [[ $rc == 0 ]] || FAILED="${FAILED:+$FAILED, }$name"
    return "$rc"
}

summary() {
    echo
    echo "=== lab stage timings"
    printf '  %s\n' "${TIMES[@]}"
    printf '  %-34s %5ss\n' "total" "$((SECONDS - T_ALL))"
    if [[ -f $LOG/box.txt ]]; then sed 's/^/  /' "$LOG/box.txt"; fi
}

leftovers() {
    local bad=0
    if ip netns list 2>/dev/null | grep -qw "${LAB_NETNS:-demo-runtime-lab}"; then
        echo "lab: LEFTOVER network namespace ${LAB_NETNS:-demo-runtime-lab}" >&2; bad=1
    fi
    if [[ -n ${QEMU_BEFORE+x} ]]; then
        local now; now=$(pgrep -f '^[^ ]*qemu-system-x86_64 ' -d ' ' || true)
        local p; for p in $now; do
            [[ " $QEMU_BEFORE " == *" $p "* ]] || { echo "lab: LEFTOVER qemu process $p" >&2; bad=1; }
        done
    fi
    (( bad == 0 )) && echo "lab: nothing left running (no lab netns, no lab qemu)"
    return $bad
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stage "teardown (destroy, stop by PID)" "$HOSTLAB" teardown || true
    leftovers || rc=1
    summary
    if [[ $rc != 0 ]]; then
        echo "lab: FAILED: ${FAILED:-teardown} (logs in $LOG)"
        if [[ -s $LAB_SERIAL_LOG ]]; then
            echo "lab: the VM's serial console is in $LAB_SERIAL_LOG; its last lines:"
            tail -n 12 "$LAB_SERIAL_LOG" | sed 's/^/  serial: /'
        fi
    else
        echo "lab: all stages passed"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_lab() { "$HOSTLAB" exec "$@"; }

# vagrant's output, minus the box upload's progress lines (kept in the log)
# vagrant's output with the seconds since the stage began, minus the box
# upload's progress lines (all kept in the log)
quiet_progress() {
    local t0=$SECONDS line
    sed -u 's/\r/\n/g' | tee -a "$1" | grep --line-buffered -v -E 'Progress: [0-9]+%|^\s*$' \
        | while IFS= read -r line; do printf '[%4ss] %s\n' "$((SECONDS - t0))" "$line"; done
}

vagrant_up() {
    : > "$LOG/vagrant-up.log"
    in_lab vagrant up 2>&1 | quiet_progress "$LOG/vagrant-up.log"
    return "${PIPESTATUS[0]}"
}

integration_tests() {
    local rc
    in_lab pytest tests/integration --target vagrant -p no:cacheprovider \
        --junitxml=results/junit-integration-vm.xml -o junit_suite_name=integration-vm
    rc=$?
    if [[ $rc == 5 ]]; then echo "lab: pytest collected no integration test" >&2; fi
    return "$rc"
}

recap_unchanged() {  # LOG: the PLAY RECAP must show changed=0 and failed=0 for every host
    local recap
    recap=$(sed -n '/PLAY RECAP/,$p' "$1" | grep -E 'ok=[0-9]+')
    echo "$recap"
    [[ -n $recap ]] || { echo "lab: no PLAY RECAP in $1" >&2; return 1; }
    if echo "$recap" | grep -vqE 'changed=0[[:space:]]+unreachable=0[[:space:]]+failed=0'; then
        echo "lab: the run changed something (or failed); changed tasks:" >&2
        grep -E '^changed:' -B2 "$1" | grep -E '^TASK|^changed' >&2
        return 1
    fi
}

provision_again() {
    in_lab vagrant provision > "$LOG/provision-2.log" 2>&1 || { tail -n 30 "$LOG/provision-2.log"; return 1; }
    recap_unchanged "$LOG/provision-2.log"
}

# The same VM, seen as any ssh host of an inventory: the playbook ships the
# checkout itself (lab_src unset) and installs from lab/.cache offline.
second_inventory() {
    local cfg=$LOG/ssh-config inv=$LOG/inventory.ini
    in_lab vagrant ssh-config > "$cfg" || return 1
    awk '
        $1 == "HostName" { h = $2 } $1 == "Port" { p = $2 } $1 == "User" { u = $2 }
        $1 == "IdentityFile" && !k { k = $2 }
        END { printf "[lab]\nlab-vm ansible_host=%s ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s ", h, p, u, k
              printf "ansible_ssh_common_args=\"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\"\n" }' \
        "$cfg" > "$inv"
    cat "$inv"
    in_lab env ANSIBLE_CONFIG=lab/ansible.cfg ansible-playbook -i "$inv" lab/site.yml -e lab_offline=true \
        > "$LOG/inventory-1.log" 2>&1 || { tail -n 40 "$LOG/inventory-1.log"; return 1; }
    sed -n '/PLAY RECAP/,$p' "$LOG/inventory-1.log" | grep -E 'ok='
    in_lab env ANSIBLE_CONFIG=lab/ansible.cfg ansible-playbook -i "$inv" lab/site.yml -e lab_offline=true \
        > "$LOG/inventory-2.log" 2>&1 || { tail -n 40 "$LOG/inventory-2.log"; return 1; }
    recap_unchanged "$LOG/inventory-2.log"
}

box_facts() {
    local f; f=$(ls -t /var/cache/demo-runtime-lab/*.box 2>/dev/null | head -n1)
    [[ -n $f ]] && echo "box: $f, $(du -m "$f" | cut -f1) MB" > "$LOG/box.txt"
    [[ -f $LOG/box-build.log ]] && grep -h 'box written' "$LOG/box-build.log" >> "$LOG/box.txt"
    return 0
}

QEMU_BEFORE=$(pgrep -f '^[^ ]*qemu-system-x86_64 ' -d ' ' || true)
export LAB_SERIAL_LOG=${LAB_SERIAL_LOG:-/var/log/libvirt/qemu/demo-runtime-lab-serial.log}
rm -f "$LAB_SERIAL_LOG"

stage "tools (apt, pip)" "$HOSTLAB" deps || exit 1
stage "wheelhouse" "$HOSTLAB" wheels || exit 1
stage "box (build or cached)" bash -c "'$HOSTLAB' box 2>&1 | tee '$LOG/box-build.log'; exit \${PIPESTATUS[0]}" || exit 1
box_facts
stage "lab start (netns, libvirtd)" "$HOSTLAB" start || exit 1
stage "vagrant up (boot + provision)" vagrant_up || exit 1
# From here on every stage runs even if an earlier one failed (more to learn
# from one CI run); the exit status says whether all passed.
rc=0
stage "pytest tests/integration (VM)" integration_tests || rc=1
stage "vagrant provision (changed=0)" provision_again || rc=1
stage "playbook, second inventory" second_inventory || rc=1
stage "vagrant destroy -f" in_lab vagrant destroy -f || rc=1
exit "$rc"
