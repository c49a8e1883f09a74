"""A Debian bookworm image made with debootstrap on the target, cached between runs.

The mirror is the one apt on the target already uses (read from its sources at run
time). The image is built once per cache key and kept in CACHE: debootstrap costs
minutes, a cached image nothing.
"""

import shlex

import pytest

CACHE = "/var/cache/demo-runtime-tests"
SUITE = "bookworm"
PACKAGES = "python3,iputils-ping"
# Change when what the image holds changes: a new name is a new build.
IMAGE = f"{CACHE}/debian-{SUITE}-minbase-{PACKAGES.replace(',', '-')}-v1.img"
SOURCES = "/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources"


def mirror_from_sources(text):
    """The first `deb` URI that serves SUITE, from one-line and deb822 sources; else the
    first Debian archive URI of another suite (a Debian 13 target's mirror serves
    bookworm too), else None."""
    other = None
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("deb "):
                words = line.split()[1:]
                if words and words[0].startswith("["):
                    while words and not words[0].endswith("]"):
                        words.pop(0)
                    words.pop(0)
                if len(words) >= 2 and words[1] == SUITE:
                    return words[0]
                if len(words) >= 2 and not words[0].rstrip("/").endswith("-security"):
                    other = other or words[0]
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and fields.get("uris"):
            if SUITE in fields.get("suites", []):
                return fields["uris"][0]
            if not fields["uris"][0].rstrip("/").endswith("-security"):
                other = other or fields["uris"][0]
    return other


def bookworm_image(host, build_script):
    """The cached image's path on the target, built first if missing."""
    mirror = mirror_from_sources(host.run(f"cat {SOURCES} 2>/dev/null; true").stdout.replace("\n\n\n", "\n\n"))
    if host.run("test -f %s", IMAGE).rc == 0:
        return IMAGE
    if mirror is None:
        pytest.fail(f"the target's apt sources name no {SUITE} mirror for debootstrap")
    release = host.run("curl -fsS --max-time 20 -o /dev/null %s", f"{mirror.rstrip('/')}/dists/{SUITE}/Release")
    if release.rc != 0:
        pytest.skip(f"the Debian mirror {mirror} is unreachable from the target (an offline VM?): {release.stderr.strip()}")
    script = f"""set -e
        mkdir -p {CACHE}; exec 9>{CACHE}/.lock; flock 9
        test -f {IMAGE} && exit 0
        work=$(mktemp -d {CACHE}/.build.XXXXXX); trap 'rm -rf "$work"' EXIT
        debootstrap --variant=minbase --include={PACKAGES} {SUITE} "$work/root" {shlex.quote(mirror)} > "$work/log" 2>&1 \\
            || {{ tail -n 5 "$work/log" >&2; exit 1; }}
        rm -rf "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*_dists_*
        {shlex.quote(build_script)} --rootfs "$work/root" --no-extras -o "$work/image.img" > /dev/null
        mv "$work/image.img" {IMAGE}
    """
    built = host.run("bash -c %s", script)
    assert built.rc == 0, f"building the Debian image failed: {built.stderr}"
    return IMAGE
