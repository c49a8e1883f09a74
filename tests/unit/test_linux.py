import struct

from runtime import linux


def test_loop_config_matches_the_kernel_struct():
    # struct loop_config: fd, block_size, loop_info64 (232 bytes), reserved[8]
    assert struct.calcsize("=" + linux._LOOP_INFO64) == 232
    assert struct.calcsize(linux._LOOP_CONFIG) == 304


def test_loop_info_carries_flags_and_a_bounded_name():
    info = linux._loop_info(linux.LO_FLAGS_AUTOCLEAR | linux.LO_FLAGS_READ_ONLY, "x" * 100)
    packed = struct.pack("=" + linux._LOOP_INFO64, *info)
    flags = struct.unpack_from("=I", packed, 5 * 8 + 3 * 4)[0]
    assert flags == 5
    assert packed[56 : 56 + 64].rstrip(b"\0") == b"x" * 63
