"""Links, addresses and routes over netlink (pyroute2), and nftables: what --net bridge
and -p ask of the kernel. pyroute2 costs about 200 ms to import, ten times a whole
start, so it is imported by the first call that needs it, never on the default path.
Netlink errors come out as OSError(errno, "what: why"), as every other call's do."""

import errno


def _iproute(pid=None):
    from pyroute2 import IPRoute

    # flags=0: the namespace of a live process exists; pyroute2 would create a missing one.
    return IPRoute(netns=f"/proc/{pid}/ns/net", flags=0) if pid else IPRoute()


def _netlink(what, call):
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return call()
    except NetlinkError as e:
        raise OSError(e.code, f"{what}: {e.args[-1] if e.args else e}") from None
    except IndexError:  # a lookup found no such link
        raise OSError(errno.ENODEV, f"{what}: no such link") from None


class Network:
    def link_index(self, name):
        """The host-side link's index, or None."""
        with _iproute() as ipr:
            found = ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def link_ipv4(self, name):
        """(kind, first IPv4 address as "a.b.c.d/len" or None) of an existing link."""
        with _iproute() as ipr:
            index = ipr.link_lookup(ifname=name)[0]
            info = ipr.get_links(index)[0].get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
            for addr in ipr.get_addr(family=2, index=index):
                return kind, f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}"
        return kind, None

    def add_bridge(self, name):
        with _iproute() as ipr:
            _netlink(f"cannot create bridge {name}", lambda: ipr.link("add", ifname=name, kind="bridge"))

    def configure_bridge(self, name, address, prefixlen):
        """The bridge's own address, and up."""
        with _iproute() as ipr:

            def configure():
                index = ipr.link_lookup(ifname=name)[0]
                ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
                ipr.link("set", index=index, state="up")

            _netlink(f"cannot set up bridge {name}", configure)

    def add_veth_to_bridge(self, veth, bridge, peer, peer_pid):
        """A veth pair across two namespaces: `veth` on the bridge here, `peer` in peer_pid's."""
        with _iproute() as ipr:

            def attach():
                master = ipr.link_lookup(ifname=bridge)[0]
                ipr.link("add", ifname=veth, kind="veth", peer={"ifname": peer, "net_ns_pid": peer_pid})
                ipr.link("set", index=ipr.link_lookup(ifname=veth)[0], master=master, state="up")

            _netlink(f"cannot attach a veth pair to bridge {bridge}", attach)

    def configure_in_netns(self, pid, ifname, address, prefixlen, gateway):
        """In pid's network namespace: the address on ifname, up, default route via gateway."""
        with _iproute(pid) as inside:

            def configure():
                index = inside.link_lookup(ifname=ifname)[0]
                inside.addr("add", index=index, address=address, prefixlen=prefixlen)
                inside.link("set", index=index, state="up")
                inside.route("add", gateway=gateway)

            _netlink(f"cannot configure {ifname} in the container", configure)

    def delete_link(self, name):
        """Delete a host-side link; one that is gone already is fine."""
        from pyroute2.netlink.exceptions import NetlinkError

        with _iproute() as ipr:
            try:
                for index in ipr.link_lookup(ifname=name):
                    ipr.link("del", index=index)
            except NetlinkError as e:
                if e.code != errno.ENODEV:
                    raise OSError(e.code, f"cannot delete {name}: {e.args[-1] if e.args else e}") from None

    def hold_port(self, address, port, protocol):
        """A socket bound to the host port (protocol "tcp" or "udp"), so that nothing else
        takes it while it is open: close() it."""
        import socket  # only with -p: it imports enum and selectors

        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM)
        try:
            held.bind((address, port))
        except BaseException:
            held.close()
            raise
        return held

    def nft(self, script):
        """Run an nftables script; OSError with nft's own message if it fails
        (FileNotFoundError: no nft)."""
        status, _, stderr = self.run_program(["nft", "-f", "-"], script.encode())
        if status != 0:
            raise OSError(errno.EINVAL, f"nft failed: {stderr.decode(errors='replace').strip()}")

    def nft_has_table(self, table):
        try:
            return self.run_program(["nft", "list", "table", "ip", table])[0] == 0
        except FileNotFoundError:
            return False
