"""Network partitions for the chaos suite, the way Jepsen makes them: each broker runs in
its own network namespace (`ip netns`), all on one bridge with the test process (the
clients) at .254; a partition between two nodes is a pair of blackhole routes, so packets
between them are silently dropped in both directions while clients still reach both.
Needs root (CAP_NET_ADMIN); `NetnsUnavailable` says why it could not be set up.
"""

from __future__ import annotations

import os
import random
import subprocess

from conftest import Cluster, ClusterNode


class NetnsUnavailable(Exception):
    pass


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise NetnsUnavailable(f"{' '.join(cmd)}: {r.stderr.strip()}")


class Netns:
    def __init__(self, n: int):
        tag = f"{os.getpid() % 10000}{random.randint(0, 99)}"
        self.bridge = f"rkbr{tag}"
        self.names = [f"rkns{tag}-{i + 1}" for i in range(n)]
        self.subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"
        self.cuts: set[tuple[int, int]] = set()
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, ns in enumerate(self.names):
                v = f"rkv{tag}{i + 1}"
                subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
                _ip("link", "add", v, "type", "veth", "peer", "name", f"{v}p")
                _ip("link", "set", f"{v}p", "netns", ns)
                _ip("link", "set", v, "master", self.bridge)
                _ip("link", "set", v, "up")
                _ip("addr", "add", f"{self.host(i + 1)}/24", "dev", f"{v}p", ns=ns)
                _ip("link", "set", f"{v}p", "up", ns=ns)
                _ip("link", "set", "lo", "up", ns=ns)
        except (NetnsUnavailable, subprocess.CalledProcessError, FileNotFoundError) as e:
            self.close()
            raise NetnsUnavailable(str(e)) from None

    def host(self, node: int) -> str:
        return f"{self.subnet}.{node}"

    def prefix(self, node: int) -> list[str]:
        return ["ip", "netns", "exec", self.names[node - 1]]

    def cut(self, a: int, b: int) -> None:
        """Drops every packet between nodes a and b, both ways."""
        for x, y in ((a, b), (b, a)):
            if (x, y) not in self.cuts:
                _ip("route", "add", "blackhole", f"{self.host(y)}/32", ns=self.names[x - 1])
                self.cuts.add((x, y))

    def isolate(self, node: int) -> None:
        """Cuts `node` off from every other node (clients still reach it)."""
        for other in range(1, len(self.names) + 1):
            if other != node:
                self.cut(node, other)

    def heal(self) -> None:
        for x, y in sorted(self.cuts):
            _ip("route", "del", "blackhole", f"{self.host(y)}/32", ns=self.names[x - 1])
        self.cuts.clear()

    def close(self) -> None:
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


class NetnsNode(ClusterNode):
    """A cluster node inside its network namespace, listening on its own address."""

    def __init__(self, net: Netns, *args, **kw):
        super().__init__(*args, **kw)
        self.net = net

    @property
    def bootstrap(self) -> str:
        return f"{self.net.host(self.node_id)}:{self.port}"

    def command(self) -> list[str]:
        host = self.net.host(self.node_id)
        cmd = [*self.net.prefix(self.node_id)] + super().command()
        i = cmd.index(f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}")
        cmd[i] = f"listeners=PLAINTEXT://{host}:{self.port},CONTROLLER://{host}:{self.controller_port}"
        return cmd


class NetnsCluster(Cluster):
    """A Cluster whose nodes live in the namespaces of `net` (ports are the same on every
    node: each has its own address)."""

    def __init__(self, root: str, net: Netns, size: int = 3, overrides: dict | None = None):
        super().__init__(root, size, overrides)
        self.net = net

    def start(self) -> "NetnsCluster":
        import tempfile
        import time

        voters = ",".join(f"{i + 1}@{self.net.host(i + 1)}:9093" for i in range(self.size))
        self.brokers = [
            NetnsNode(self.net, tempfile.mkdtemp(prefix=f"data-{i + 1}-", dir=self.root), i + 1, 9092, 9093, voters, self.overrides)
            for i in range(self.size)
        ]
        offsets = [n.spawn() for n in self.nodes]
        deadline = time.monotonic() + 30
        pending = set(range(self.size))
        while pending and time.monotonic() < deadline:
            pending = {i for i in pending if not self.nodes[i].ready_since(offsets[i])}
            time.sleep(0.05)
        assert not pending, f"nodes {sorted(i + 1 for i in pending)} not ready: " + "\n".join(self.nodes[i].log()[-2000:] for i in pending)
        self.wait_for_brokers(self.size)
        return self
