"""Errors the runtime reports to its user, each with its own exit status."""

# Exit statuses of demo-runtime itself. The container's own status passes through
# unchanged (a signal N as 128+N), so these stay away from the common small values.
USAGE = 64
IMAGE_NOT_EXT4 = 65
IMAGE_MISSING = 66
IMAGE_NOT_FILE = 67
IMAGE_CORRUPT = 68
NO_LOOP_DEVICE = 69
UNSAFE_IMAGE = 70
NO_SUCH_CONTAINER = 71
NAME_IN_USE = 72
WRONG_STATE = 73
STATE_UNREADABLE = 74
IMAGE_BUSY = 75
NOT_ROOT = 77
# Image import and the process options that use an image's contents (issue 13).
IMPORT_NOT_AN_IMAGE = 80
IMPORT_CORRUPT = 81
IMPORT_DIGEST_MISMATCH = 82
IMPORT_UNSAFE_PATH = 83
IMPORT_NO_PLATFORM = 84
IMPORT_UNSUPPORTED = 85
IMPORT_OUTPUT = 86
USER_UNKNOWN = 87
VOLUME_ERROR = 88
PORT_ERROR = 89
# The OCI command line (demo-runtime-oci).
OCI_BAD_BUNDLE = 90
OCI_UNSUPPORTED = 91
RUNTIME_FAILURE = 125
COMMAND_NOT_EXECUTABLE = 126
COMMAND_NOT_FOUND = 127

EXIT_CODES = (
    (USAGE, "bad command line"),
    (IMAGE_NOT_EXT4, "the image is not an ext2/3/4 filesystem"),
    (IMAGE_MISSING, "the image does not exist or cannot be read"),
    (IMAGE_NOT_FILE, "the image is not a regular file"),
    (IMAGE_CORRUPT, "the image cannot be mounted (corrupt)"),
    (NO_LOOP_DEVICE, "no free loop device"),
    (UNSAFE_IMAGE, "the image is unsafe: its /proc, /sys or /dev is not a real directory"),
    (NO_SUCH_CONTAINER, "no such container"),
    (NAME_IN_USE, "the container name is in use (or the --cgroup-path)"),
    (WRONG_STATE, "the container is not in a state for that (exec or stop of a stopped one, rm of a running one)"),
    (STATE_UNREADABLE, "container state cannot be read or written (corrupt, a newer format, /run not writable)"),
    (IMAGE_BUSY, "the image is in use (--rw needs it alone)"),
    (NOT_ROOT, "not run as root"),
    (IMPORT_NOT_AN_IMAGE, "image import: not a docker-archive or OCI image layout"),
    (IMPORT_CORRUPT, "image import: a truncated or malformed archive, manifest, config or layer"),
    (IMPORT_DIGEST_MISMATCH, "image import: a blob or layer does not match its digest"),
    (IMPORT_UNSAFE_PATH, "image import: a layer path escapes the tree (.., absolute, through a symlink)"),
    (IMPORT_NO_PLATFORM, "image import: no image for this machine's architecture"),
    (IMPORT_UNSUPPORTED, "image import: a layer compression or archive shape not supported"),
    (IMPORT_OUTPUT, "image import: the output cannot be written"),
    (USER_UNKNOWN, "--user names a user or group the image does not have"),
    (VOLUME_ERROR, "a volume's host path is missing, or its target is a symlink in the image"),
    (PORT_ERROR, "a --publish port is in use or out of range"),
    (OCI_BAD_BUNDLE, "OCI: the bundle's config.json is missing, malformed, of another major version, or its rootfs is missing"),
    (OCI_UNSUPPORTED, "OCI: config.json asks for something demo-runtime does not honour (the field is named)"),
    (RUNTIME_FAILURE, "any other runtime failure"),
    (COMMAND_NOT_EXECUTABLE, "the command cannot be executed"),
    (COMMAND_NOT_FOUND, "the command is not found in the image"),
)


class ContainerError(Exception):
    """A failure with a one-line message for the user and an exit status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Interrupted(Exception):
    """A signal arrived before the container existed to receive it."""

    def __init__(self, signum):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
