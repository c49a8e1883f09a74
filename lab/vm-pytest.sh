#!/usr/bin/env bash
# The integration suite inside each running VM of this checkout, all VMs at once:
# one ssh per VM, and there pytest runs as root on its local target, so no test
# command pays an ssh round trip, and the tests that only look at results start
# containers through the Python API (a fork of the loaded interpreter) instead of
# a new interpreter (~1 s each under TCG). The results come back to results/ and
# are put side by side in results/isolation.md.
#
#   lab/vm-pytest.sh [PYTEST ARGS...]          # e.g. -k pid, --durations=20
#   lab/hostlab.sh exec lab/vm-pytest.sh       # in the network namespace of lab/hostlab.sh
#
# LAB_MACHINES: the VMs (default: this checkout's running ones). Each VM has the
# checkout at /vagrant (`vagrant up`, `vagrant rsync`) and the venv the playbook
# made (/opt/demo-runtime/venv, with pytest and testinfra). Tests marked
# kernel_independent are skipped there (--kernel-only) and the report lists them
# as "not kernel-dependent, run locally".
# Per VM: results/lab/pytest-MACHINE.log, results/junit-MACHINE.xml,
# results/isolation-vagrant-MACHINE.{md,json}. Exit status: 0 when every VM's
# suite passed, else 1.
set -uo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
cd "$ROOT"
RESULTS=$ROOT/results
LOG=${LAB_LOG_DIR:-$RESULTS/lab}
PYTHON=$ROOT/.venv/bin/python
mkdir -p "$LOG"

machines=${LAB_MACHINES:-$(vagrant status --machine-readable </dev/null | awk -F, '$3 == "state" && $4 == "running" { print $2 }')}
[[ -n $machines ]] || { echo "vm-pytest: no running VM of this checkout (vagrant up first)" >&2; exit 1; }

one_vm() {  # MACHINE PYTEST-ARGS...: the suite in that VM, then its results here
    local m=$1 cfg=$ROOT/.vagrant/ssh-config-$1 rc
    shift
    vagrant ssh-config "$m" </dev/null > "$cfg" || return 1
    local ssh=(ssh -F "$cfg" -o User=root -o BatchMode=yes "$m")
    "${ssh[@]}" "cd /vagrant && rm -rf results && exec /opt/demo-runtime/venv/bin/pytest tests/integration \
        --target local --image /var/lib/demo-runtime/container.img --kernel-only --report-as vagrant:$m \
        -p no:cacheprovider --junitxml=results/junit.xml -o junit_suite_name=integration-$m $(printf '%q ' "$@")" \
        </dev/null > "$LOG/pytest-$m.log" 2>&1
    rc=$?
    "${ssh[@]}" "cat /vagrant/results/junit.xml" </dev/null > "$RESULTS/junit-$m.xml"
    local f; for f in md json; do
        "${ssh[@]}" "cat /vagrant/results/isolation-vagrant-$m.$f" </dev/null > "$RESULTS/isolation-vagrant-$m.$f" \
            || rm -f "$RESULTS/isolation-vagrant-$m.$f"
    done
    echo "vm-pytest: $m: $(tail -n 1 "$LOG/pytest-$m.log") (log: $LOG/pytest-$m.log)"
    return "$rc"
}

declare -A pids
for m in $machines; do
    one_vm "$m" "$@" &
    pids[$m]=$!
done
failed=""
for m in $machines; do
    wait "${pids[$m]}" || failed+=" $m"
done
for m in $machines; do
    sed -n '/= isolation properties on/,/^written to/p' "$LOG/pytest-$m.log"
done
"$PYTHON" -m tests.integration.report "$RESULTS"
[[ -z $failed ]] || { echo "vm-pytest: the suite failed on:$failed" >&2; exit 1; }
