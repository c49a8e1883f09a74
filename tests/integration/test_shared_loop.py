"""Readers of one image share one self-freeing loop device, whoever ends first and however.

Each test uses an image copy of its own (a file no other container holds), and the
residue check after it proves the device freed itself once its last holder was gone."""

import pytest

pytestmark = pytest.mark.property("image")

# A container that says it is up, then holds its image until its stdin (a FIFO the
# test keeps open) is closed.
HOLD = ("sh", "-c", "echo up; read x || true")


def holders(runtime, image, fifo, log, count):
    """Shell: start `count` holders of image (stdin from fifo, kept open on fd 3 by the
    shell), their runtime pids in $pids; wait until each said up."""
    argv = runtime.line(*HOLD, image=image)
    return (
        f"rm -f {fifo}; mkfifo {fifo}; exec 3<>{fifo}; pids=; "
        f"for i in $(seq {count}); do {argv} <{fifo} 3>&- >>{log} & pids=\"$pids $!\"; done; "
        f"until [ \"$(grep -c up {log})\" = {count} ]; do sleep 0.05; done; "
    )


def devices(image):
    return f"losetup -n -O NAME,RO -j {image}"


def test_readers_of_one_image_share_one_read_only_device(runtime, host, variant_image, workdir):
    image = variant_image("shared.img")
    out = host.check_output(
        holders(runtime, image, f"{workdir}/shared.fifo", f"{workdir}/shared.log", 4)
        + f"{devices(image)}; exec 3>&-; for p in $pids; do wait $p || echo failed=$?; done"
    )
    assert len(out.splitlines()) == 1 and out.split()[1] == "1", out  # one device, read-only


def test_a_device_bound_otherwise_is_not_shared(runtime, host, variant_image, workdir):
    # losetup's devices of the image: one writable, one read-only at an offset, neither
    # self-freeing. A reader must get a device of its own (they would show it another
    # filesystem, or let it write).
    image = variant_image("foreign.img")
    out = host.check_output(
        f"a=$(losetup -f --show {image}); b=$(losetup -f --show -r -o 512 {image}); "
        + holders(runtime, image, f"{workdir}/foreign.fifo", f"{workdir}/foreign.log", 1)
        + f"{devices(image)} | grep -v -e \"^$a \" -e \"^$b \"; exec 3>&-; wait $pids; echo rc=$?; losetup -d $a $b"
    )
    assert out.split() == [out.split()[0], "1", "rc=0"] and out.startswith("/dev/loop"), out


def test_starts_teardowns_and_sigkills_at_once_all_work_and_free_the_device(runtime, host, variant_image, workdir):
    # Three loops of short starts overlap with each other's teardowns (the last holder
    # closing as a new start looks for the device), while holders are SIGKILLed.
    image = variant_image("race.img")
    quick = runtime.line("true", image=image)
    out = host.check_output(
        holders(runtime, image, f"{workdir}/race.fifo", f"{workdir}/race.log", 3)
        + "loops=; for j in 1 2 3; do "
        + f"(for i in $(seq 15); do {quick} || echo failed=$?; done) & loops=\"$loops $!\"; done; "
        + "for p in $pids; do kill -KILL $p; done; for p in $pids; do wait $p; echo killed=$?; done; "
        + "for p in $loops; do wait $p; done; "
        + f"{quick} && echo after=ok"
    )
    assert "failed=" not in out, out
    assert out.split().count("killed=137") == 3 and "after=ok" in out.split(), out
