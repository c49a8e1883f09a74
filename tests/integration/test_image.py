import pytest

from .netns import until

pytestmark = pytest.mark.property("image")


def sha(host, path):
    return host.check_output("sha256sum %s", path).split()[0]


def test_writes_never_reach_the_image(runtime, host):
    before = sha(host, runtime.target.image)
    out = runtime.sh("echo scribble > /etc/scribble && rm -f /etc/hostname && mkdir /root/new && cat /etc/scribble")
    assert out.stdout.strip() == "scribble"
    assert runtime.sh("test -e /etc/scribble || echo fresh").stdout.strip() == "fresh"
    assert sha(host, runtime.target.image) == before


def test_rw_writes_through(runtime, variant_image):
    image = variant_image("rw.img")
    assert runtime.sh("echo kept > /root/kept", options=("--rw",), image=image).rc == 0
    assert runtime.run("cat", "/root/kept", image=image).stdout == "kept\n"


def test_rw_is_exclusive(runtime, host, variant_image, workdir):
    image = variant_image("exclusive.img")
    # The writer holds the image until the others have tried (a line on its stdin), not
    # for a time: a start under TCG can take longer than any sleep.
    writer = runtime.line("sh", "-c", "echo up; read done", options=("--rw",), image=image)
    second = runtime.line("true", options=("--rw",), image=image)
    reader = runtime.line("true", image=image)
    log, release = f"{workdir}/writer.log", f"{workdir}/release"
    out = host.check_output(
        f"mkfifo {release}; {writer} <{release} >{log} & w=$!; exec 3>{release}; "
        f"{until(f'grep -q up {log} || ! kill -0 $w 2>/dev/null')}; "
        f"{second} 2>&1; echo second=$?; {reader} 2>&1; echo reader=$?; echo >&3; exec 3>&-; wait $w; echo writer=$?"
    )
    assert "second=75" in out and "reader=75" in out and "writer=0" in out
    assert "needs it exclusively" in out


def test_parallel_starts_all_succeed(runtime, host):
    argv = runtime.line("sh", "-c", "sleep 0.5; echo ok")
    out = host.check_output(f"for i in 1 2 3 4 5 6 7 8; do {argv} & done; wait")
    assert out.split() == ["ok"] * 8
