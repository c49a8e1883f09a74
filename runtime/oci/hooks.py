"""The config's hooks (config.md#posix-platform-hooks): each hook's path run with its
args and env, the container's state JSON on its stdin, killed after its timeout."""

import json

from .. import errors
from ..errors import ContainerError


def run_hooks(hooks, name, state):
    """Run the hooks called `name` in order; the first failure is a ContainerError."""
    import subprocess  # only for a config with hooks

    for i, hook in enumerate(hooks.get(name, ())):
        what = f"{name} hook {i} ({hook['path']})"
        try:
            done = subprocess.run(
                hook.get("args") or [hook["path"]],
                executable=hook["path"],
                env=dict(item.partition("=")[::2] for item in hook.get("env", ())),
                input=json.dumps(state).encode(),
                capture_output=True,
                timeout=hook.get("timeout"),
            )
        except subprocess.TimeoutExpired:
            raise ContainerError(errors.RUNTIME_FAILURE, f"{what} timed out after {hook['timeout']} s") from None
        except OSError as e:
            raise ContainerError(errors.RUNTIME_FAILURE, f"{what}: {e.strerror}") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise ContainerError(
                errors.RUNTIME_FAILURE, f"{what} failed with status {done.returncode}" + (f": {said[-1]}" if said else "")
            )
