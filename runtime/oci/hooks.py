"""The config's hooks (config.md#posix-platform-hooks): each hook's path run with its
args and env, the container's state JSON on its stdin, killed after its timeout."""

from .. import errors, jsontext
from ..errors import ContainerError


def describe(name, i, hook):
    return f"{name} hook {i} ({hook['path']})"


def run_hooks(linux, hooks, name, state, programs=None):
    """Run the hooks called `name` in order; the first failure is a ContainerError.
    `programs`: each hook's program as a descriptor, opened where its path resolves."""
    for i, hook in enumerate(hooks.get(name, ())):
        what = describe(name, i, hook)
        try:
            status, _, stderr = linux.run_program(
                hook.get("args") or [hook["path"]],
                input=jsontext.dumps(state).encode(),
                executable=hook["path"] if programs is None else programs[i],
                env=dict(item.partition("=")[::2] for item in hook.get("env", ())),
                timeout=hook.get("timeout"),
            )
        except TimeoutError:
            raise ContainerError(errors.RUNTIME_FAILURE, f"{what} timed out after {hook['timeout']} s") from None
        except OSError as e:
            raise ContainerError(errors.RUNTIME_FAILURE, f"{what}: {e.strerror}") from None
        if status != 0:
            said = stderr.decode(errors="replace").strip().splitlines()
            raise ContainerError(errors.RUNTIME_FAILURE, f"{what} failed with status {status}" + (f": {said[-1]}" if said else ""))
