#!/usr/bin/env bash
# CI's lab stage, also runnable by hand as root on a fresh Debian 12 machine:
#
#   lab/ci.sh
#
# 1. tools (apt: vagrant, vagrant-libvirt, libvirt, qemu, debootstrap...; pip: the
#    lab extra: ansible-core, ansible-lint), then ansible-lint (production profile)
# 2. the wheelhouse (lab/prepare-offline.sh) and the offline boxes, Debian 12 and 13
#    (built, or reused from /var/cache/demo-runtime-lab, keyed by a hash of the
#    builder's inputs)
# 3. a network namespace with virtlogd + libvirtd (lab/hostlab.sh start); KVM when
#    a guest kernel really boots on it, else TCG
# 4. vagrant up: both machines (debian12, debian13), provisioned with lab/site.yml, offline
# 5. pytest tests/integration -n 2 inside each VM, both at once (lab/vm-pytest.sh) ->
#    results/junit-MACHINE.xml, results/isolation.md (one column per kernel)
# 6. vagrant provision again: must report changed=0
# 7. the role from a playbook of someone else's (written outside lab/, only a
#    documented variable) against a second inventory (the same VMs as plain ssh
#    hosts, source shipped from here), twice: the second run must report changed=0
# 8. vagrant destroy -f, then everything started is stopped by PID and the
#    namespace deleted -- also when a step fails (trap).
# No step reads the caller's stdin (it is /dev/null: qemu and ansible change the
# mode of a shared terminal). Each stage's duration is printed at the end.
# Logs: results/lab/. LAB_MACHINES="debian12" runs one machine only.
set -uo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
cd "$ROOT"
exec </dev/null
export LAB_LOG_DIR=$ROOT/results/lab
export LAB_MACHINES=${LAB_MACHINES:-debian12 debian13}
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
        local m; for m in $LAB_MACHINES; do
            local serial=${LAB_SERIAL_LOG%.log}-$m.log
            [[ -s $serial ]] || continue
            echo "lab: $m's serial console is in $serial; its last lines:"
            tail -n 6 "$serial" | sed "s/^/  $m serial: /"
        done
        # Last, where a CI log's tail shows it: which tests failed, and how (pytest's summary).
        for m in $LAB_MACHINES; do
            local log=$LOG/pytest-$m.log failed
            failed=$(sed -n '/= short test summary info =/,$p' "$log" 2>/dev/null | grep -E '^(FAILED|ERROR) ' | head -n 20)
            [[ -n $failed ]] || continue
            echo "lab: $m's failed tests (the whole report: $log):"
            echo "$failed" | cut -c1-400 | sed "s/^/  $m: /"
        done
    else
        echo "lab: all stages passed"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_lab() { "$HOSTLAB" exec "$@"; }

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
    # Inside each VM, all VMs at once (lab/vm-pytest.sh). The tests marked
    # kernel_independent (the image builder's, the command line's, the OCI clients')
    # ran in CI's local stage and are listed in the report, not run again per kernel.
    # Two workers, one per vCPU (QEMU's TCG runs each vCPU on a host thread), a
    # module's tests and fixtures in one worker, as the local stage runs them.
    in_lab lab/vm-pytest.sh -n 2 --dist loadfile --durations=40
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

# The same VMs, seen as any ssh hosts of an inventory, provisioned by a playbook of
# someone else's (outside the checkout, the role found on ANSIBLE_ROLES_PATH, only a
# documented variable set, no facts gathered): the role ships the checkout itself
# (demo_runtime_src unset) and installs from lab/.cache offline. Twice: the second
# run must report changed=0.
second_inventory() {
    local cfg=$LOG/ssh-config inv=$LOG/inventory.ini play=$LOG/other-playbook/play.yml run
    in_lab vagrant ssh-config > "$cfg" || return 1
    awk '
        function host() { if (name) printf "%s ansible_host=%s ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s\n", name, h, p, u, k }
        BEGIN { print "[lab]" }
        $1 == "Host" { host(); name = "lab-" $2; k = "" }
        $1 == "HostName" { h = $2 } $1 == "Port" { p = $2 } $1 == "User" { u = $2 }
        $1 == "IdentityFile" && !k { k = $2 }
        END { host()
              print "[lab:vars]"
              print "ansible_ssh_common_args=\"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\"" }' \
        "$cfg" > "$inv"
    cat "$inv"
    mkdir -p "${play%/*}"
    printf '%s\n' '---' \
        '- name: Install demo-runtime with its role, from a playbook of one'"'"'s own' \
        '  hosts: all' '  become: true' '  gather_facts: false' '  roles:' \
        '    - role: demo_runtime' '      vars:' '        demo_runtime_offline: true' > "$play"
    for run in 1 2; do
        in_lab env ANSIBLE_CONFIG=lab/ansible.cfg ANSIBLE_ROLES_PATH="$HERE/roles" ansible-playbook -i "$inv" "$play" \
            > "$LOG/inventory-$run.log" 2>&1 || { tail -n 40 "$LOG/inventory-$run.log"; return 1; }
    done
    sed -n '/PLAY RECAP/,$p' "$LOG/inventory-1.log" | grep -E 'ok='
    recap_unchanged "$LOG/inventory-2.log"
}

ansible_lint() {  # the role and playbook at the production profile (.ansible-lint), offline
    env PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG=lab/ansible.cfg ansible-lint lab/site.yml lab/roles/demo_runtime
}

box_facts() {
    local m f
    : > "$LOG/box.txt"
    for m in $LAB_MACHINES; do
        f=$(ls -t /var/cache/demo-runtime-lab/"$m"-demo-runtime-*.box 2>/dev/null | head -n1)
        [[ -n $f ]] && echo "box $m: $f, $(du -m "$f" | cut -f1) MB" >> "$LOG/box.txt"
    done
    [[ -f $LOG/box-build.log ]] && grep -h 'box written' "$LOG/box-build.log" >> "$LOG/box.txt"
    return 0
}

QEMU_BEFORE=$(pgrep -f '^[^ ]*qemu-system-x86_64 ' -d ' ' || true)
export LAB_SERIAL_LOG=${LAB_SERIAL_LOG:-/var/log/libvirt/qemu/demo-runtime-lab-serial.log}
rm -f "${LAB_SERIAL_LOG%.log}"-*.log

stage "tools (apt, pip)" "$HOSTLAB" deps || exit 1
stage "ansible-lint (production)" ansible_lint || exit 1
stage "wheelhouse" "$HOSTLAB" wheels || exit 1
stage "box (build or cached)" bash -c "'$HOSTLAB' box 2>&1 | tee '$LOG/box-build.log'; exit \${PIPESTATUS[0]}" || exit 1
box_facts
stage "lab start (netns, libvirtd)" "$HOSTLAB" start || exit 1
stage "vagrant up (boot + provision)" vagrant_up || exit 1
# From here on every stage runs even if an earlier one failed (more to learn
# from one CI run); the exit status says whether all passed. No stage retries:
# the one retry is Vagrant's own wait for each VM's first ssh during `vagrant
# up` ("Warning: ... Retrying" in its log), whose cause is outside the project.
rc=0
stage "pytest tests/integration (VMs)" integration_tests || rc=1
stage "vagrant provision (changed=0)" provision_again || rc=1
stage "playbook, second inventory" second_inventory || rc=1
stage "vagrant destroy -f" in_lab vagrant destroy -f || rc=1
exit "$rc"
