"""`ctr run -d`, `ctr task exec`, `ctr task kill`, `ctr task rm`, `ctr container rm`: the runc
shim's create/start, exec, kill and delete of the runtime, and nothing left at the end."""

import shlex

from ..containers import NAME_PREFIX
from .clients import IMAGE, leftovers
from .test_podman_lifecycle import INIT


def test_ctr_detach_exec_kill_rm(containerd, runtime_under_test, host):
    ident = f"{NAME_PREFIX}-ctr-life-{runtime_under_test}"
    containerd.check("run", "-d", "--runc-binary", runtime_under_test.path,
                     "--runc-root", containerd.runtime_root(runtime_under_test), IMAGE, ident, *INIT)  # fmt: skip
    try:
        tasks = containerd.check("task", "ls").split()
        assert tasks[tasks.index(ident) + 2] == "RUNNING"

        show_init = "cat /proc/1/cmdline | tr '\\0' ' '; exit 5"
        out = containerd("task", "exec", "--exec-id", "probe", ident, "sh", "-c", show_init)
        assert (out.rc, out.stdout) == (5, " ".join(INIT) + " "), out.stderr

        # `task attach` returns the task's exit status once it exits (at once if it has).
        attach = shlex.join(containerd.argv("task", "attach", ident))
        kill = shlex.join(containerd.argv("task", "kill", "--signal", "SIGTERM", ident))
        out = host.run(f"{attach} & attach=$!; {kill}; wait $attach")
        assert out.rc == 7, out.stderr
    finally:
        containerd("task", "rm", "--force", ident)
        containerd.check("container", "rm", ident)
    assert leftovers(host, ident, containerd.runtime_root(runtime_under_test)) == {}
