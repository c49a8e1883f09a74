"""config.json onto the plugins' options: the mapping table of runtime/oci/bundle.py."""

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.oci import bundle as bundles
from runtime.oci.lifecycle import default_options
from runtime.oci.spec import default_config
from runtime.plugins.masked_paths import plan as masked_plan

from .fake_linux import FakeLinux


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return tmp_path


def planned(tree, change=None, rootfs_plugin=True, monkeypatch=None):
    config = default_config(["sh", "-c", "true"], terminal=False, readonly=False)
    if change:
        change(config)
    return bundles.plan(str(tree), config, default_options(), FakeLinux())


@pytest.fixture(autouse=True)
def rootfs_plugin(monkeypatch):
    """The rootfs plugin (a directory as the root) as if it were there."""
    from runtime import plugins

    monkeypatch.setitem(plugins.BUILTIN, "rootfs", object)


def test_the_default_config_maps_onto_run_options(tree):
    plan = planned(tree)
    options = plan.options
    assert plan.command == ["sh", "-c", "true"]
    assert plan.env["TERM"] == "xterm"
    assert options.rootfs == f"{tree}/rootfs" and options.rw is True
    assert options.user == "0:0" and options.workdir is None
    assert options.hostname == "runc"
    caps = "AUDIT_WRITE,KILL,NET_BIND_SERVICE"
    assert options.cap_set == [f"bounding={caps}", f"effective={caps}", f"permitted={caps}"]
    assert options.seccomp == "unconfined"  # no linux.seccomp: no filter, as in runc
    assert options.pids_limit == "0"  # no linux.resources.pids: no limit
    assert options.disable == []  # every plugin the config's mounts and namespaces need
    assert options.ulimit == ["nofile=1024:1024"]
    assert options.net == "none" and options.cgroupns == "private"


def test_masked_and_readonly_paths_become_the_plugin_lists(tree):
    def change(config):
        config["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/extra"]
        config["linux"]["readonlyPaths"] = ["/proc/sys"]

    masked, read_only = masked_plan(planned(tree, change).options)
    assert sorted(masked) == ["/proc/extra", "/proc/kcore"]
    assert read_only == ("/proc/sys",)


def test_a_missing_namespace_shares_the_hosts(tree):
    def change(config):
        config["linux"]["namespaces"] = [{"type": "mount"}, {"type": "network"}]
        del config["hostname"]

    options = planned(tree, change).options
    assert set(options.disable) >= {"pid", "ipc", "uts"}
    assert options.net == "none"


def test_no_network_namespace_is_the_hosts_network(tree):
    options = planned(tree, lambda c: c["linux"]["namespaces"].remove({"type": "network"})).options
    assert options.net == "host"


def test_a_hostname_needs_a_uts_namespace(tree):
    with pytest.raises(ContainerError, match="hostname needs a uts namespace"):
        planned(tree, lambda c: c["linux"]["namespaces"].remove({"type": "uts"}))


def test_capability_sets_go_to_cap_set_and_empty_ones_drop_all(tree):
    def change(config):
        config["process"]["capabilities"] = {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "ambient": []}

    assert planned(tree, change).options.cap_set == ["bounding=CHOWN,KILL", "effective=KILL"]
    options = planned(tree, lambda c: c["process"].update(capabilities={})).options
    assert (options.cap_set, options.cap_drop) == ([], ["ALL"])


def test_a_user_and_its_groups(tree):
    options = planned(tree, lambda c: c["process"].update(user={"uid": 1000, "gid": 100, "additionalGids": [5, 6]})).options
    assert (options.user, options.group_add) == ("1000:100", ["5", "6"])


def test_user_namespace_mappings_become_uidmap_and_gidmap(tree):
    def change(config):
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 1000}]

    options = planned(tree, change).options
    assert (options.uidmap, options.gidmap) == (["0:200000:65536"], ["0:300000:1000"])


def test_a_namespace_path_joins_it(tree):
    def change(config):
        config["linux"]["namespaces"] = [n if n["type"] != "network" else {"type": "network", "path": "/run/netns/x"} for n in config["linux"]["namespaces"]]

    assert planned(tree, change).options.net == "ns:/run/netns/x"


def test_a_joined_uts_namespace_keeps_its_hostname_unless_the_config_sets_one(tree):
    def join(config):
        config["linux"]["namespaces"] = [n if n["type"] != "uts" else {"type": "uts", "path": "/proc/7/ns/uts"} for n in config["linux"]["namespaces"]]
        config.pop("hostname")

    options = planned(tree, join).options
    assert (options.uts, options.hostname) == ("ns:/proc/7/ns/uts", None)
    assert planned(tree, lambda c: c.pop("hostname")).options.hostname is not None  # a new one: the host's name


def test_joining_a_mount_namespace_is_refused(tree):
    def change(config):
        config["linux"]["namespaces"] = [n if n["type"] != "mount" else {"type": "mount", "path": "/proc/1/ns/mnt"} for n in config["linux"]["namespaces"]]

    with pytest.raises(ContainerError, match=r"namespaces\[4\].path: joining an existing mount namespace is not supported"):
        planned(tree, change)


def test_resources_map_to_cgroup_limits(tree):
    def change(config):
        config["linux"]["resources"].update(pids={"limit": 64}, memory={"limit": 64 << 20}, cpu={"quota": 50000, "period": 100000})

    options = planned(tree, change).options
    assert (options.pids_limit, options.memory, options.cpus) == ("64", str(64 << 20), "0.5")


def test_cpu_shares_become_the_cgroup_weight_and_other_cpu_fields_are_refused(tree):
    assert planned(tree, lambda c: c["linux"]["resources"].update(cpu={"shares": 1024})).options.cpu_shares == "1024"
    assert planned(tree, lambda c: c["linux"]["resources"].update(cpu={"shares": 0})).options.cpu_shares is None
    with pytest.raises(ContainerError, match=r"config.json: linux.resources.cpu.realtimeRuntime: not supported"):
        planned(tree, lambda c: c["linux"]["resources"].update(cpu={"shares": 1024, "realtimeRuntime": 5}))


def test_cgroups_path_becomes_cgroup_path(tree):
    options = planned(tree, lambda c: c["linux"].update(cgroupsPath="/default/ctr1")).options
    assert options.cgroup_path == "/default/ctr1"
    assert planned(tree, lambda c: c["linux"].update(cgroupsPath="")).options.cgroup_path is None


@pytest.mark.parametrize("bad", ["default/ctr1", "/default/../ctr1", "system.slice:docker:ctr1"])
def test_a_relative_or_unclean_cgroups_path_is_refused_by_field(tree, bad):
    with pytest.raises(ContainerError, match=rf"config.json: linux.cgroupsPath: '{bad}': an absolute path") as raised:
        planned(tree, lambda c: c["linux"].update(cgroupsPath=bad))
    assert raised.value.code == errors.OCI_UNSUPPORTED


def test_mounts_become_volumes_and_tmpfs(tree):
    def change(config):
        config["mounts"] += [
            {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ]

    options = planned(tree, change).options
    assert options.volume == ["/srv/data:/data:ro"] and options.tmpfs == ["/run:nosuid,strictatime,mode=755,size=65536k"]


def test_podmans_dev_shm_bind_is_a_volume_over_devs_own(tree):
    def change(config):
        config["mounts"].append({"destination": "/dev/shm", "type": "bind", "source": "/run/x/shm", "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]})

    assert planned(tree, change).options.volume == ["/run/x/shm:/dev/shm:noexec"]


def test_a_dev_shm_of_another_type_is_refused(tree):
    def change(config):
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev/shm"]
        config["mounts"].append({"destination": "/dev/shm", "type": "ramfs", "source": "ramfs"})

    with pytest.raises(ContainerError, match=r"\(/dev/shm, type ramfs\): demo-runtime's dev plugin mounts /dev/shm as tmpfs"):
        planned(tree, change)


def test_a_tmpfs_option_the_plugin_lacks_is_refused_by_field(tree):
    def change(config):
        config["mounts"].append({"destination": "/run", "type": "tmpfs", "options": ["huge=always"]})

    with pytest.raises(ContainerError, match=r"config.json: mounts\[7\] \(/run, type tmpfs\): --tmpfs /run:huge=always: option"):
        planned(tree, change)


def test_no_proc_mount_turns_the_proc_plugin_off(tree):
    options = planned(tree, lambda c: c["mounts"].pop(0)).options
    assert options.disable == ["proc"]


@pytest.mark.parametrize("version", ["2.0.0", "0.5", 1])
def test_another_major_version_is_refused(tree, version):
    with pytest.raises(ContainerError) as e:
        planned(tree, lambda c: c.update(ociVersion=version))
    assert e.value.code == errors.OCI_BAD_BUNDLE


def test_an_unknown_field_is_refused_by_its_path(tree):
    with pytest.raises(ContainerError, match=r"config.json: linux.resources.cpu.realtimePeriod: not supported"):
        planned(tree, lambda c: c["linux"]["resources"].update(cpu={"realtimePeriod": 512}))


def test_without_the_rootfs_plugin_root_path_is_refused(tree, monkeypatch):
    from runtime import plugins

    monkeypatch.delitem(plugins.BUILTIN, "rootfs")
    with pytest.raises(ContainerError, match="root.path: a directory as the root needs the rootfs plugin"):
        planned(tree)
