"""--log and --log-format json: errors in runc's (logrus's) JSON lines, which podman
reads back and shows its user; stderr still has the one line."""

import json

import pytest

pytestmark = pytest.mark.kernel_independent("the --log line of an error on an unknown ID: no container")


def test_an_error_is_a_json_line_in_the_log(oci, host, workdir, ids):
    log = f"{workdir}/oci-log.json"
    container_id = ids()
    try:
        out = oci("--log", log, "--log-format", "json", "start", container_id)
        assert out.rc == 71 and len(out.stderr.splitlines()) == 1
        entry = json.loads(host.check_output("tail -n 1 %s", log))
        assert entry["level"] == "error"
        assert entry["msg"] == f"container {container_id!r} does not exist"
        assert entry["time"].endswith("Z") and "T" in entry["time"]  # RFC 3339
    finally:
        host.run("rm -f %s", log)


def test_the_text_log_is_logfmt(oci, host, workdir, ids):
    log = f"{workdir}/oci-log.txt"
    try:
        oci("--log", log, "state", ids())
        line = host.check_output("tail -n 1 %s", log)
        assert line.startswith('time="') and "level=error msg=" in line and "does not exist" in line
    finally:
        host.run("rm -f %s", log)
