#!/usr/bin/env bash
# The integration tests on every host of an Ansible inventory, one host after
# the other (provision them first: ansible-playbook -i INVENTORY lab/site.yml).
#
#   lab/test-hosts.sh INVENTORY [PATTERN] [-- PYTEST ARGS...]
#
# Per host: results/junit-integration-HOST.xml and results/isolation-ansible-HOST.md;
# all hosts side by side: results/isolation.md.
set -uo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
[[ $# -ge 1 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
INV=$(readlink -f -- "$1"); shift
PATTERN=all
if [[ $# -gt 0 && $1 != -- ]]; then PATTERN=$1; shift; fi
[[ ${1:-} == -- ]] && shift
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$HERE/ansible.cfg}
mapfile -t HOSTS < <(ansible -i "$INV" "$PATTERN" --list-hosts 2>/dev/null | sed -n 's/^ \{4,\}//p')
(( ${#HOSTS[@]} )) || { echo "test-hosts: no host matches '$PATTERN' in $INV" >&2; exit 2; }
cd "$ROOT"
rc=0
for h in "${HOSTS[@]}"; do
    echo "=== $h"
    pytest tests/integration --hosts="ansible://$h" --ansible-inventory="$INV" \
        --junitxml="results/junit-integration-$h.xml" "$@" || rc=1
done
[[ -f results/isolation.md ]] && cat results/isolation.md
exit $rc
