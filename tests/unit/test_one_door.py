"""One door to the kernel: runtime code outside runtime/linux/ makes no system call of
its own, so that a reader finds every kernel call in that one folder and the test double
(fake_linux.py) stands in for all of them. The scan is of the source's syntax tree: calls
into the modules that reach the kernel (through whatever name they were imported as),
functions imported from them, and the builtin open(). Their constants (signal numbers,
LOCK_EX, O_RDONLY) are numbers the layer's calls take, and may be imported anywhere."""

import ast
import pathlib

import pytest

RUNTIME = pathlib.Path(__file__).resolve().parents[2] / "runtime"
LAYER = RUNTIME / "linux"

# Modules whose functions make system calls (or run a process, open a socket or a file).
DOOR_MODULES = {
    "ctypes", "fcntl", "mmap", "pty", "resource", "select", "selectors", "shutil", "signal", "_signal",
    "socket", "_socket", "subprocess", "tempfile", "termios", "tty",
}  # fmt: skip
# What of os (and os.path) makes no system call: names, encodings, wait-status macros.
PURE_OS = {"fsencode", "fsdecode", "fspath", "strerror", "major", "minor", "makedev", "getenv", "waitstatus_to_exitcode"}
PURE_OS_PATH = {"join", "basename", "dirname", "normpath", "splitext", "isabs", "split", "commonpath"}
PURE_OS_VALUES = {"environ", "pathsep", "sep", "linesep", "devnull", "curdir", "pardir", "extsep"}  # str.join...

# Deliberate exceptions, each with its reason.
ALLOWED = {
    # The process's own last act once main() has returned: exit without the interpreter's
    # teardown (a quarter of a start). No Linux object exists at that level, and importing
    # the layer (ctypes) for it would put it on --help's path too.
    ("cli.py", "os._exit"),
    ("oci/cli.py", "os._exit"),
}


def _violations(path):
    tree = ast.parse(path.read_text(), str(path))
    aliases = {}  # local name -> the module it is
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module.split(".")[0]
            functions = [a.name for a in node.names if not a.name.isupper()]  # constants are numbers, not calls
            if (module in DOOR_MODULES or module == "os") and functions:
                found.append((node.lineno, f"from {node.module} import {', '.join(functions)}"))
        elif isinstance(node, ast.Call):
            name = _called(node.func, aliases)
            if name and _reaches_kernel(name, node):
                found.append((node.lineno, name))
    return found


def _called(func, aliases):
    """The dotted name of what is called, its first part resolved through the imports."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(aliases.get(func.id, func.id))
    return ".".join(reversed(parts))


def _reaches_kernel(name, call):
    module, _, rest = name.partition(".")
    if name == "open":  # wrapping a descriptor the layer opened is no new call
        return not any(k.arg == "closefd" and getattr(k.value, "value", True) is False for k in call.keywords)
    if module == "os":
        if rest.startswith("path."):
            return rest[5:] not in PURE_OS_PATH
        return not (rest in PURE_OS or rest[:1].isupper() or rest.partition(".")[0] in PURE_OS_VALUES)
    return module in DOOR_MODULES  # a constant is never called


def _sources():
    return sorted(p for p in RUNTIME.rglob("*.py") if LAYER not in p.parents)


def test_runtime_code_outside_the_syscall_layer_reaches_the_kernel_only_through_it():
    found = [
        f"{path.relative_to(RUNTIME)}:{line}: {what}"
        for path in _sources()
        for line, what in _violations(path)
        if (str(path.relative_to(RUNTIME)), what) not in ALLOWED
    ]
    assert found == [], "use runtime.linux (add the call there, and to tests/unit/fake_linux.py)"


def test_every_allowed_exception_is_still_needed():
    used = {(str(p.relative_to(RUNTIME)), what) for p in _sources() for _, what in _violations(p)}
    assert ALLOWED - used == set()


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess\nsubprocess.run(['true'])",
        "import ctypes as c\nc.CDLL(None)",
        "from fcntl import flock",
        "import _signal as signal\nsignal.signal(1, 0)",
        "import os\nos.fork()",
        "import os\nos.path.isdir('/x')",
        "import os\nos.path.abspath('x')",  # getcwd(2)
        "open('/etc/passwd')",
    ],
)
def test_the_scan_finds_a_direct_call(tmp_path, source):
    path = tmp_path / "module.py"
    path.write_text(source + "\n")
    assert _violations(path)


@pytest.mark.parametrize(
    "source",
    [
        "from fcntl import LOCK_EX",
        "import _signal as signal\nsignal.SIGTERM",
        "import os\nos.path.join('a', 'b')\nos.WEXITSTATUS(0)\nos.environ.get('X')",
        "open(2, 'w', closefd=False)",
    ],
)
def test_the_scan_lets_names_and_constants_through(tmp_path, source):
    path = tmp_path / "module.py"
    path.write_text(source + "\n")
    assert _violations(path) == []
