"""`demo-runtime image import FILE [-o IMAGE.img]`: an image archive into an ext4 image.

No root needed: when not root, the import re-runs itself inside fakeroot, so the
owners, setuid bits and file capabilities the layers carry reach the image without
the caller being able to set them on the host. Nothing is left on any failure: the
staging tree and the partial image are removed, and the output appears only whole
(renamed into place).
"""

import os
import sys
from stat import S_ISDIR

import _signal as signal

from .. import errors
from ..errors import ContainerError, Interrupted
from ..plugin import Option

PROG = "demo-runtime image"
OPTIONS = (
    Option("--output", "IMAGE.img", "the ext4 image to write (default: FILE's name with .img, here)", short="-o"),
    Option("--ref", "NAME", "the image to take when the archive holds several (tag or ref name)"),
    Option("--debug", None, "show a Python traceback for internal errors"),
)
SUMMARY = """Import a docker-archive (docker save, podman save) or an OCI image layout (a directory
or a tar of one) into an ext4 image that `demo-runtime IMAGE.img` runs. The image's
Env, Entrypoint, Cmd, WorkingDir, User and ExposedPorts are saved in IMAGE.img.json
and used as the run's defaults. No root needed (fakeroot)."""


def main(argv):
    from ..cli import HELP, UsageError, parse, subcommand_help

    table = (HELP, *OPTIONS)

    usage = subcommand_help("image import [OPTIONS] FILE", SUMMARY, OPTIONS)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0
    if argv[0] != "import":
        raise UsageError(f"unknown image command {argv[0]!r} (image import FILE)")
    # Options may come before or after FILE.
    options, positional = parse(argv[1:], table)
    if positional:
        after, extra = parse(positional[1:], table)
        for key, value in vars(after).items():
            if value:
                setattr(options, key, value)
        positional = positional[:1] + extra
    if options.help:
        print(usage)
        return 0
    if len(positional) != 1:
        raise UsageError("image import takes one FILE")
    from ..linux import Linux

    linux = Linux()
    if linux.geteuid() != 0:
        _reexec_in_fakeroot(linux, argv)
    previous = linux.set_signal_handlers({signal.SIGTERM: _interrupt, signal.SIGHUP: _interrupt})
    try:
        import_image(linux, positional[0], options.output, options.ref)
    finally:
        linux.set_signal_handlers(previous)
    return 0


def _interrupt(signum, frame):
    raise Interrupted(signum)


def _reexec_in_fakeroot(linux, argv):
    fakeroot = linux.find_program("fakeroot")
    if fakeroot is None:
        raise ContainerError(errors.IMPORT_OUTPUT, "image import needs fakeroot when not root (apt-get install fakeroot)")
    sys.stdout.flush()
    sys.stderr.flush()
    linux.execve(fakeroot, [fakeroot, "--", sys.executable, "-m", "runtime", "image", *argv], os.environ)


def default_output(source):
    name = os.path.basename(os.path.normpath(source))
    for suffix in (".tar.gz", ".tgz", ".tar.xz", ".tar", ".oci", ".img"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name + ".img"


def _say(message):
    print(f"demo-runtime: {message}", file=sys.stderr, flush=True)


def import_image(linux, source_path, output=None, ref=None):
    """Import `source_path` into `output`; returns (output path, image size in bytes)."""
    from . import archive, config, ext4, layers

    output = linux.absolute_path(output or default_output(source_path))
    out_dir = os.path.dirname(output)
    if linux.is_directory(output):
        raise ContainerError(errors.IMPORT_OUTPUT, f"output {output} is a directory")
    if not linux.is_directory(out_dir):
        raise ContainerError(errors.IMPORT_OUTPUT, f"output directory {out_dir} does not exist")
    source, image = archive.read(linux, source_path, ref)
    base = os.path.basename(output)
    leftovers = None
    try:
        defaults = config.defaults_from(image.config)
        try:
            partial = linux.make_temporary(out_dir, f".{base}.", ".tmp")
        except PermissionError:
            raise ContainerError(errors.IMPORT_OUTPUT, f"output directory {out_dir} is not writable") from None
        staging = linux.make_temporary(out_dir, f".{base}.staging.", is_directory=True)
        leftovers = Leftovers(linux, staging, partial, partial + ".json")
        root = f"{staging}/rootfs"
        linux.mkdir(root, 0o755)
        tree = layers.Tree(linux, root)
        try:
            for number, layer in enumerate(image.layers, 1):
                size = layer.stored_size()
                _say(f"layer {number}/{len(image.layers)}: {layer.name} ({size / 2**20:.1f} MiB)")
                with layer.open() as stream:
                    try:
                        tree.apply(layers.open_stream(stream), layer.name)
                    except archive.READ_ERRORS as e:
                        raise archive.corrupt(f"layer {layer.name} is truncated or corrupt: {e}") from None
        finally:
            tree.close()
        if tree.devices_skipped:
            _say(f"skipped {tree.devices_skipped} device node(s): the runtime gives /dev its own")
        _say(f"writing {output}")
        size = ext4.make(linux, root, partial)[0]
        linux.chmod(partial, 0o644)
        settings = partial + ".json"
        fd = linux.open(settings, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            linux.write_all(fd, config.dump(defaults))
        finally:
            linux.close(fd)
        linux.rename(settings, config.path_for(output))
        try:
            linux.rename(partial, output)
        except OSError:
            linux.unlink(config.path_for(output))  # no run defaults without their image
            raise
    finally:
        source.close()
        if leftovers is not None:
            leftovers.remove()
            leftovers.dismiss()
    print(f"Imported {image.description} into {output} ({size // 2**20} MiB, {len(image.layers)} layer(s))")
    print(f"  run defaults: {config.path_for(output)}")
    return output, size


class Leftovers:
    """The import's temporary paths, removed on every exit path: by remove(), or by a
    forked watcher if the import is SIGKILLed (it sees its pipe close without a word)."""

    def __init__(self, linux, *paths):
        self.linux = linux
        self.paths = paths
        read_end, self._write_end = linux.pipe()
        self.pid = linux.fork()
        if self.pid == 0:
            linux.close(self._write_end)
            linux.setpgid(0, 0)  # a Ctrl-C is for the import, not for us
            quiet = linux.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # holding the caller's pipes would keep them open
                linux.dup2(quiet, fd)
            linux.set_signal_handlers({s: signal.SIG_IGN for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)})
            try:
                if linux.read(read_end, 1) != b"d":
                    self.remove()
            finally:
                linux.exit_now(0)
        linux.close(read_end)

    def remove(self):
        for path in self.paths:
            try:
                directory = S_ISDIR(self.linux.lstat(path).st_mode)
            except FileNotFoundError:
                continue
            if directory:
                self.linux.remove_tree(path)
            else:
                self.linux.unlink(path)

    def dismiss(self):
        self.linux.write(self._write_end, b"d")
        self.linux.close(self._write_end)
        self.linux.waitpid(self.pid)
