"""The cgroup options as numbers, and the controller each limit needs."""

import sys
from mmap import PAGESIZE

from ...errors import USAGE, ContainerError

CPU_PERIOD = 100000  # microseconds; --cpus N is a quota of N periods
CONTROLLER = {"memory": "memory", "pids": "pids", "cpus": "cpu", "cpu_shares": "cpu"}
CPU_SHARES = (2, 262144)  # the kernel's range of v1's cpu.shares
# podman's default; `--pids-limit 0` (or unlimited, or -1 as in Docker) lifts it.
DEFAULT_PIDS_LIMIT = 2048
_NO_PIDS_LIMIT = ("0", "-1", "unlimited")
# The kernel counts memory in pages, at most LONG_MAX bytes' worth (larger values
# would wrap around, or be taken as no limit).
_MEMORY_MAX = sys.maxsize // PAGESIZE * PAGESIZE


def cpu_weight(shares):
    """v2's cpu.weight (1-10000) for v1's cpu.shares (2-262144), as runc and crun convert it."""
    return 1 + (shares - 2) * 9999 // 262142


def parse_size(text):
    """`512m` -> 536870912 (k, m, g binary units; bytes without a unit)."""
    value = text.strip().lower().removesuffix("b")
    factor = 1
    if value[-1:] in ("k", "m", "g"):
        factor = 1024 ** ("kmg".index(value[-1]) + 1)
        value = value[:-1]
    try:
        number = int(value) * factor
    except ValueError:
        raise ContainerError(USAGE, f"--memory: {text!r} is not a size such as 256m or 1g") from None
    if number < 6 * 1024 * 1024:
        raise ContainerError(USAGE, f"--memory: {text!r} is below the minimum of 6m")
    if number > _MEMORY_MAX:
        raise ContainerError(USAGE, f"--memory: {text!r} is above the kernel's largest limit, {_MEMORY_MAX >> 30}g")
    return number


def limits(options, cpus_online):
    """{'memory': bytes, 'pids': n, 'cpus': quota per period, 'cpu_shares': n} for the options given
    (and the default pids limit); --cpus is at most the machine's cpus_online."""
    wanted = {}
    if options.memory is not None:
        wanted["memory"] = parse_size(options.memory)
    pids = options.pids_limit
    if pids is None:
        wanted["pids"] = DEFAULT_PIDS_LIMIT
    elif pids.strip().lower() not in _NO_PIDS_LIMIT:
        try:
            wanted["pids"] = int(pids)
        except ValueError:
            raise ContainerError(USAGE, f"--pids-limit: {pids!r} is not a number (0 or unlimited: no limit)") from None
        if wanted["pids"] < 1:
            raise ContainerError(USAGE, "--pids-limit must be at least 1 (0 or unlimited: no limit)")
    if options.cpus is not None:
        try:
            cpus = float(options.cpus)
        except ValueError:
            cpus = 0
        if not 0.01 <= cpus <= cpus_online:
            raise ContainerError(USAGE, f"--cpus: {options.cpus!r} is not a number from 0.01 to {cpus_online}")
        wanted["cpus"] = round(cpus * CPU_PERIOD)
    if options.cpu_shares is not None:
        shares = options.cpu_shares.strip()
        if not shares.isdigit() or not CPU_SHARES[0] <= int(shares) <= CPU_SHARES[1]:
            raise ContainerError(USAGE, f"--cpu-shares: {options.cpu_shares!r} is not a number from {CPU_SHARES[0]} to {CPU_SHARES[1]}")
        wanted["cpu_shares"] = int(shares)
    return wanted
