"""Operations on an ID no container has.

runtime.md: "Attempting to query a container that does not exist MUST generate an
error"; start, kill and delete "MUST generate an error if it is not provided the
container ID" (of a container). As runc, `delete --force` of none is done: nothing to do.
"""

import pytest

pytestmark = pytest.mark.kernel_independent("an ID with no record under --root: refused by the state lookup, no container")


@pytest.mark.parametrize("argv", [("state",), ("start",), ("kill",), ("delete",)])
def test_an_unknown_id_is_an_error(oci, ids, argv):
    container_id = ids()
    out = oci(*argv, container_id)
    assert out.rc == 71, out.stderr
    assert out.stderr.strip() == f"demo-runtime-oci: container {container_id!r} does not exist"


def test_delete_force_of_an_unknown_id_succeeds(oci, ids):
    out = oci("delete", "--force", ids())
    assert (out.rc, out.stderr) == (0, "")
