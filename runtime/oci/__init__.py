"""demo-runtime-oci: the OCI runtime command line (runc's), over the same plugins.

  cli.py        global options (--root, --log, --log-format), the commands, errors as runc
                reports them (one line on stderr, a JSON line in --log)
  bundle.py     config.json read, checked, and mapped onto the plugins' options (a table
                of fields); what no plugin honours is refused by name
  spec.py       the spec's default config.json (`spec`, and the tests' bundles)
  record.py     a container's state under --root: its status, the spec's state JSON
  lifecycle.py  create (the init waits at an exec fifo), delete, run, exec: the plugins'
  running.py    start, kill: none of the plugins imported (a new interpreter per command)
  hooks.py      the config's hooks, with the state JSON on their stdin
  console.py    process.terminal: the pty master sent over --console-socket

A container outlives `create`: its init is left to the caller's subreaper (conmon,
containerd's shim), so there is no supervisor and no janitor; `delete` runs the
teardowns of what the runtime made (cgroups), from the plugins' state saved at create.
"""

# The runtime-spec version this command line and its state follow.
SPEC_VERSION = "1.2.0"
PROG = "demo-runtime-oci"
