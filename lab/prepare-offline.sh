#!/usr/bin/env bash
# Prepare what an offline VM or host needs from outside, on a machine that has
# the package registries: a wheelhouse for pip and, optionally, .debs for apt.
#
#   lab/prepare-offline.sh            # lab/.cache/wheels: the project's deps + [test] + build backend
#   lab/prepare-offline.sh --debs     # also lab/.cache/debs: lab/packages.txt with all
#                                     # dependencies, for Debian 12 amd64 targets (run on Debian 12)
#
# The Vagrant VM sees lab/.cache through the synced folder /vagrant; for other
# inventories the playbook copies them (demo_runtime_offline=true).
set -euo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname -- "$HERE")
CACHE=${LAB_CACHE:-$HERE/.cache}
PY=${LAB_HOST_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
DEBS=0
for a in "$@"; do
    case $a in
        --debs) DEBS=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $a" >&2; exit 2 ;;
    esac
done

say() { printf 'prepare-offline: %s\n' "$*" >&2; }

# --- wheels: for CPython 3.11 on x86_64 Linux (Debian 12's python3), whatever the host's Python
mkdir -p "$CACHE/wheels"
mapfile -t REQS < <("$PY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
meta = tomllib.load(open(sys.argv[1], "rb"))
build = meta.get("build-system", {}).get("requires", ["setuptools>=64"])
proj = meta["project"]
reqs = list(build) + ["wheel"] + proj.get("dependencies", []) + proj.get("optional-dependencies", {}).get("test", [])
print("\n".join(reqs))
EOF
)
say "wheelhouse $CACHE/wheels: ${REQS[*]}"
"$PY" -m pip download --disable-pip-version-check --quiet --dest "$CACHE/wheels" \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 --platform any \
    "${REQS[@]}" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
say "$(ls "$CACHE/wheels" | wc -l) wheels, $(du -sm "$CACHE/wheels" | cut -f1) MB"

# --- .debs: the full dependency closure, so a bare Debian 12 can install them offline
if (( DEBS )); then
    rm -rf "$CACHE/debs"; mkdir -p "$CACHE/debs"
    mapfile -t PKGS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$HERE/packages.txt")
    mapfile -t CLOSURE < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${PKGS[@]}" | grep -v '^[[:space:]<]' | sort -u)
    say "debs $CACHE/debs: ${#CLOSURE[@]} packages (closure of lab/packages.txt)"
    (cd "$CACHE/debs" && apt-get download -q "${CLOSURE[@]}" > "$CACHE/debs.log" 2>&1) \
        || { tail -n 20 "$CACHE/debs.log" >&2; exit 1; }
    # a flat repository index, so apt on the target resolves dependencies from it
    if command -v dpkg-scanpackages >/dev/null; then
        (cd "$CACHE/debs" && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null)
    elif command -v apt-ftparchive >/dev/null; then
        (cd "$CACHE/debs" && apt-ftparchive packages . > Packages)
    else
        echo "prepare-offline: need dpkg-scanpackages (apt-get install dpkg-dev) or apt-ftparchive (apt-utils)" >&2
        exit 1
    fi
    say "$(ls "$CACHE/debs"/*.deb | wc -l) .debs, $(du -sm "$CACHE/debs" | cut -f1) MB, index $CACHE/debs/Packages"
fi
