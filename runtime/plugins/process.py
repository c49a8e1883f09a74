"""The container's process: command, environment, user and working directory.

Defaults come from the image's config when it has one (IMAGE.json, written by
`image import`), as docker applies them: Entrypoint + (COMMAND, else Cmd), Env under
--env-file under --env, User, WorkingDir. --user names are looked up in the image's
own /etc/passwd and /etc/group, read after pivot_root, so they are the image's.

Runs after every plugin that needs root and just before caps (as runc): the uid changes
while CAP_SETUID and CAP_SETGID are still held, even where caps then drops them, and
the capability sets are kept across it for caps to reduce; execve as a non-root user
then leaves none of them but the ambient ones (capabilities(7)).
"""

import os

from .. import errors
from ..cli import DEFAULT_COMMAND
from ..errors import USAGE, ContainerError
from ..plugin import Option, Plugin

_ACCOUNTS_LIMIT = 1 << 20


def parse_env_file(linux, path):
    """docker's --env-file: KEY=VALUE lines; `#` comments and blank lines skipped; a bare
    KEY takes its value from the runtime's own environment (and is left out if unset)."""
    try:
        lines = linux.read_bytes(path).decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ContainerError(USAGE, f"--env-file {path}: {getattr(e, 'strerror', None) or e}") from None
    env = {}
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        key, has_value, value = stripped.partition("=")
        if not key or any(c.isspace() for c in key):
            raise ContainerError(USAGE, f"--env-file {path}:{number}: not KEY=VALUE: {line!r}")
        if has_value:
            env[key] = value
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def env_pairs(items):
    env = {}
    for item in items:
        key, _, value = item.partition("=")
        if key:
            env[key] = value
    return env


def parse_user(spec):
    """`--user` -> (user, group or None), each a name or a number as a string."""
    user, has_group, group = spec.partition(":")
    if not user or (has_group and not group) or ":" in group:
        raise ContainerError(USAGE, f"invalid --user {spec!r}: use UID[:GID] or NAME[:GROUP]")
    return user, group or None


def _entries(text):
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] and not line.startswith(("#", "+", "-")):
            yield fields


def resolve_user(spec, passwd, group_file):
    """(uid, gid, supplementary gids, home) for `--user` in the image's account files.

    As docker: a number need not be in /etc/passwd (its gid is then 0 and its home /);
    a name must be; the groups that list the user by name are added."""
    user, group = parse_user(spec)
    account = None
    for fields in _entries(passwd):
        if (fields[0] == user) if not user.isdigit() else (fields[2] == user):
            account = fields
            break
    if account is None and not user.isdigit():
        raise ContainerError(errors.USER_UNKNOWN, f"--user {spec}: no user {user!r} in the image's /etc/passwd")
    try:
        uid = int(user) if user.isdigit() else int(account[2])
        gid = int(account[3]) if account else 0
    except ValueError:
        raise ContainerError(errors.USER_UNKNOWN, f"--user {spec}: the image's /etc/passwd entry for {user!r} is malformed") from None
    home = account[5] if account and len(account) > 5 and account[5] else "/"
    groups = list(_entries(group_file))
    if group is not None:
        if group.isdigit():
            gid = int(group)
        else:
            found = [f for f in groups if f[0] == group]
            if not found or not found[0][2].isdigit():
                raise ContainerError(errors.USER_UNKNOWN, f"--user {spec}: no group {group!r} in the image's /etc/group")
            gid = int(found[0][2])
    name = account[0] if account else None
    extra = sorted({int(f[2]) for f in groups if name and f[2].isdigit() and name in f[3].split(",")} - {gid})
    return uid, gid, [gid, *extra], home


def resolve_groups(specs, group_file, spec_flag="--group-add"):
    """--group-add items (gids, or group names of the image's /etc/group) -> gids."""
    groups = list(_entries(group_file))
    gids = []
    for spec in specs:
        for item in filter(None, spec.split(",")):
            if item.isdigit() and int(item) < 2**32 - 1:
                gids.append(int(item))
                continue
            found = [f for f in groups if f[0] == item and f[2].isdigit()]
            if not found:
                raise ContainerError(errors.USER_UNKNOWN, f"{spec_flag} {item}: no group {item!r} in the image's /etc/group")
            gids.append(int(found[0][2]))
    return gids


def check_group_names(specs):
    """Before anything starts: each item is a gid or a group name."""
    for spec in specs:
        for item in spec.split(","):
            if not item or ":" in item or item.startswith("-"):
                raise ContainerError(USAGE, f"invalid --group-add {spec!r}: a GID or a group name (repeatable, comma-separated)")


class Process(Plugin):
    name = "process"
    help = "the command, environment, --user and --workdir, with the image config's defaults"
    does = "setgroups, setresgid, setresuid to --user, chdir(2) to --workdir; the image config's command and environment"
    lost = "the image config's Entrypoint, Cmd, Env, User and WorkingDir are not applied: root runs the command in /"
    options = (
        Option("--user", "UID[:GID]|NAME[:GROUP]", "run the command as this user (names from the image's /etc/passwd)", short="-u"),
        Option("--workdir", "DIR", "working directory inside the container (made if missing)", short="-w"),
        Option("--env-file", "FILE", "read KEY=VALUE lines into the environment (repeatable; --env wins)", repeat=True),
        Option("--entrypoint", "CMD", "override the image's Entrypoint (its Cmd is then dropped, as in docker)"),
        Option("--group-add", "GID|GROUP", "an additional group of the command (repeatable; names from the image's /etc/group)", repeat=True),
    )

    def __init__(self):
        self.user = None
        self.group_add = []
        self.workdir = None
        self.home_given = False

    def prepare(self, ctx):
        from ..images import config

        options = ctx.options
        defaults = config.load(ctx.linux, ctx.image) if ctx.image else {}
        env = env_pairs(defaults.get("Env", ()))
        for path in getattr(options, "env_file", ()):
            env.update(parse_env_file(ctx.linux, path))
        env.update(ctx.env)  # --env, and what the runtime itself sets (TERM)
        ctx.env = env
        self.home_given = "HOME" in env

        entrypoint = getattr(options, "entrypoint", None)
        given = ctx.given_command
        if given is not None:
            if entrypoint is not None:
                head, default_args = [entrypoint] if entrypoint else [], []
            else:
                head, default_args = defaults.get("Entrypoint", []), defaults.get("Cmd", [])
            ctx.command = head + (given or default_args) or DEFAULT_COMMAND

        self.user = getattr(options, "user", None) or defaults.get("User") or None
        if self.user:
            parse_user(self.user)
        self.group_add = list(getattr(options, "group_add", ()))
        check_group_names(self.group_add)
        self.workdir = getattr(options, "workdir", None) or defaults.get("WorkingDir") or None
        if self.workdir and not self.workdir.startswith("/"):
            raise ContainerError(USAGE, f"--workdir {self.workdir!r} is not an absolute path")

    def setup_child(self, ctx):
        # After pivot_root: paths resolve in the container's own tree. No imports here.
        linux = ctx.linux
        if self.workdir:
            path = ""
            for part in self.workdir.strip("/").split("/"):
                if part:
                    path += "/" + part
                    linux.mkdir(path)
        if self.user or self.group_add:
            group_file = linux.read_file("/etc/group", _ACCOUNTS_LIMIT)
            # --group-add alone: root, with its groups as docker gives them, and those.
            uid, gid, groups, home = resolve_user(self.user or "0", linux.read_file("/etc/passwd", _ACCOUNTS_LIMIT), group_file)
            groups += [g for g in resolve_groups(self.group_add, group_file) if g not in groups]
            try:
                linux.switch_user(uid, gid, groups)
            except PermissionError as e:
                raise ContainerError(errors.RUNTIME_FAILURE, f"{f'--user {self.user}' if self.user else '--group-add'}: {e.strerror} (CAP_SETUID/CAP_SETGID dropped?)") from None
            if not self.home_given:
                ctx.env["HOME"] = home
        if self.workdir:
            try:
                linux.chdir(self.workdir)
            except OSError as e:
                raise ContainerError(errors.RUNTIME_FAILURE, f"--workdir {self.workdir}: {e.strerror}") from None

    def explain(self, ctx):
        groups = f" (groups also {', '.join(self.group_add)})" if self.group_add else ""
        return f"runs {' '.join(ctx.command)} as {self.user or 'root'}{groups} in {self.workdir or '/'}"
