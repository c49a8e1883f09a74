#!/usr/bin/env bash
# Set up demo-runtime on this machine: the system packages it and its tests use, a
# virtualenv (.venv) with the runtime and the test tools, the `demo-runtime` command
# in /usr/local/bin, and the test image testcontainer/container.img.
# Safe to re-run. Meant for a throwaway machine or VM (see the README's VM lab).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: ./setup.sh [--offline] [--rebuild-image]     (as root)

  --offline        build the test image from the host's busybox instead of
                   downloading the Alpine minirootfs (no internet needed)
  --rebuild-image  rebuild testcontainer/container.img even if it exists
  -h, --help       show this help

Environment: PYTHON (default /usr/bin/python3 if it is 3.11 or newer, else python3
             on PATH).
EOF
}

offline=0
rebuild=0
for arg in "$@"; do
    case "$arg" in
        --offline) offline=1 ;;
        --rebuild-image) rebuild=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option $arg (see --help)" >&2; exit 64 ;;
    esac
done

cd "$(dirname "$(readlink -f "$0")")"
if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root: sudo ./setup.sh" >&2
    exit 77
fi

packages=(
    python3 python3-venv                      # the runtime
    e2fsprogs busybox-static fakeroot curl    # the image builder (mkfs.ext4 -d, offline busybox)
    xz-utils file gcc libc6-dev               # ... and the static probe helper it compiles
    libseccomp2 nftables                      # seccomp, bridge NAT
    util-linux iproute2 procps                # tests: setpriv, ipcmk, unshare, ip, ps, pgrep
    podman debootstrap                        # tests: podman save's docker-archive, a Debian image
    conmon containerd                         # tests: podman and containerd's ctr drive the OCI runtime
    crun runc bubblewrap time                 # bench/: the peers, GNU time for peak RSS
    strace                                    # tests: how the command writes its error line
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # containerd and podman enable and start system services; the tests run private
    # instances instead. A policy-rc.d that refuses keeps the install from starting any,
    # and the services of the packages installed here are disabled again (stopped too,
    # should a policy-rc.d of the machine's own have let them start).
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# demo-runtime setup.sh: no service starts during its install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
    if [ "$own_policy" = 1 ]; then
        rm -f "$policy"
        trap - EXIT
    fi
    mapfile -t units < <(dpkg -L "${missing[@]}" | grep -E '^(/usr)?/lib/systemd/system/[^/]+\.(service|socket|timer)$' | xargs -r -n1 basename)
    enabled=()
    for unit in "${units[@]}"; do
        [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ] && enabled+=("$unit")
    done
    if [ "${#enabled[@]}" -gt 0 ]; then
        now=()
        [ -d /run/systemd/system ] && now=(--now)
        echo "setup.sh: disabling the services the install enabled: ${enabled[*]}"
        systemctl disable "${now[@]}" --quiet "${enabled[@]}"
    fi
fi

# The system's own Python when it is new enough: Debian's is built with PGO and LTO,
# which starts a container measurably faster than a plain build found first on PATH.
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if [ -n "${PYTHON:-}" ]; then
    python=$PYTHON
elif new_enough /usr/bin/python3; then
    python=/usr/bin/python3
else
    python=python3
fi
if ! new_enough "$python"; then
    echo "setup.sh: $python is missing or older than 3.11; set PYTHON to a newer interpreter" >&2
    exit 1
fi
if [ -x .venv/bin/python ]; then
    echo "setup.sh: keeping .venv, on $(.venv/bin/python -c 'import sys; print(sys._base_executable, sys.version.split()[0])') (rm -rf .venv to rebuild it on $python)"
else
    echo "setup.sh: making .venv on $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
    "$python" -m venv .venv
fi
echo "setup.sh: installing demo-runtime (editable: this checkout) and its test tools into .venv"
# Editable, so that the commands, the pytest plugin and the tests run this checkout's
# runtime/ as it is now, not a copy from the last install. Compat mode: a path entry in
# a .pth file; the default mode's import hook costs ~16 ms at every interpreter start.
# (tests/integration/test_pytest_plugin.py installs the package as shipped, `pip install .`.)
.venv/bin/pip install --quiet --disable-pip-version-check --config-settings editable_mode=compat -e '.[test]'
# Its bytecode, once (an editable install compiles nothing): where PYTHONDONTWRITEBYTECODE
# is set (this build machine's shells set it), every start would compile runtime/ again
# (`import runtime.cli` 25 ms compiled, 50-80 ms from source). An edited module is then
# compiled in memory at each start until the next setup.sh.
.venv/bin/python -m compileall -q runtime
ln -sf "$PWD/.venv/bin/demo-runtime" /usr/local/bin/demo-runtime
ln -sf "$PWD/.venv/bin/demo-runtime-oci" /usr/local/bin/demo-runtime-oci   # the OCI (runc) command line

image=testcontainer/container.img
if [ "$rebuild" = 1 ] || [ ! -f "$image" ]; then
    # build.sh needs no root: build as the invoking user when there is one, so the
    # image and its download cache stay theirs.
    as_user=()
    if [ -n "${SUDO_UID:-}" ] && [ "${SUDO_UID}" != 0 ]; then
        as_user=(setpriv --reuid="$SUDO_UID" --regid="$SUDO_GID" --init-groups)
    fi
    if [ "$offline" = 1 ]; then
        "${as_user[@]}" testcontainer/build.sh --busybox -o "$image"
    elif ! "${as_user[@]}" testcontainer/build.sh -o "$image"; then
        echo "setup.sh: the Alpine download failed; building the offline busybox image instead"
        "${as_user[@]}" testcontainer/build.sh --busybox -o "$image"
    fi
fi

cat <<EOF

Ready. Try:
  demo-runtime $image /bin/sh     # a shell in a container (as root)
  .venv/bin/pytest -n 2 --dist loadfile        # the tests (as root), two at a time
EOF
