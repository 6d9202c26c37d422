"""Shared fixtures for the rk interop tests.

Every test talks to a real `rk server start` process. The binary comes from the
RK_BIN environment variable; without it we fall back to <repo>/target/release/rk,
then <repo>/target/debug/rk.

Fixtures:
  broker          one broker per test module (fast; tests use unique topic names)
  fresh_broker    one broker per test, on its own data dir
  broker_factory  start brokers with --override settings; all stopped at teardown

A `Broker` can be `stop()`ped (SIGTERM), `kill9()`ed (crash) and `start()`ed again on
the same data dir and port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def rk_bin() -> str:
    env = os.environ.get("RK_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "rk"
        if p.exists():
            return str(p)
    return str(REPO / "target" / "release" / "rk")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class _PortInUse(Exception):
    pass


class Broker:
    def __init__(self, data_dir: str, port: int | None = None, overrides: dict | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.overrides = dict(overrides or {})
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.expect_down = True
        self.log_path = Path(data_dir).parent / (Path(data_dir).name + ".log")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [rk_bin(), "server", "start", "--data-dir", self.data_dir, "--listen", self.bootstrap]
        for k, v in self.overrides.items():
            cmd += ["--override", f"{k}={v}"]
        return cmd

    def start(self) -> "Broker":
        # The free port was only free when we probed it; on the very first start, retry on
        # another port if something grabbed it in between. Restarts keep the port.
        for attempt in range(3):
            try:
                return self._start_once()
            except _PortInUse:
                if self.starts > 1 or attempt == 2:
                    raise
                self.port = free_port()
                self.starts = 0
        raise AssertionError("unreachable")

    def _start_once(self) -> "Broker":
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        binary = rk_bin()
        if not os.path.exists(binary):
            pytest.fail(f"rk binary not found at {binary} (set RK_BIN)")
        self.starts += 1
        self.expect_down = False
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        offset = log.tell()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                out = f.read().decode(errors="replace")
            if "rk: broker ready on" in out:
                return self
            if self.proc.poll() is not None:
                if "Address already in use" in out:
                    raise _PortInUse(out)
                pytest.fail(f"rk exited with {self.proc.returncode} before ready:\n{out}")
            time.sleep(0.05)
        self.kill9()
        pytest.fail(f"rk not ready after {READY_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> int | None:
        """Clean shutdown via SIGTERM; returns the exit code."""
        self.expect_down = True
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(f"rk did not stop within {STOP_TIMEOUT}s of SIGTERM")

    def kill9(self) -> None:
        self.expect_down = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> "Broker":
        rc = self.stop()
        assert rc == 0, f"rk exited with {rc} on SIGTERM\n{self.log()}"
        return self.start()

    def crash_and_restart(self) -> "Broker":
        self.kill9()
        return self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Fails if the broker exited on its own (crash, panic) rather than by stop()/kill9()."""
        if self.proc is not None and not self.expect_down and self.proc.poll() is not None:
            rc = self.proc.returncode
            how = f"killed by signal {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"
            pytest.fail(f"rk process died by itself ({how}):\n{self.log()[-4000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""


class BrokerFactory:
    def __init__(self, root: str):
        self.root = root
        self.brokers: list[Broker] = []

    def __call__(self, overrides: dict | None = None) -> Broker:
        data_dir = tempfile.mkdtemp(prefix="data-", dir=self.root)
        b = Broker(data_dir, overrides=overrides)
        self.brokers.append(b)
        return b.start()

    def close(self):
        for b in self.brokers:
            try:
                b.stop()
            except Exception:
                pass
            finally:
                b.kill9()


def _factory():
    root = tempfile.mkdtemp(prefix="rk-interop-")
    factory = BrokerFactory(root)

    def fin():
        factory.close()
        shutil.rmtree(root, ignore_errors=True)

    return factory, fin


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when == "call":
        # Attach the broker's output to the failure report.
        brokers = []
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Broker):
                brokers.append(value)
            elif isinstance(value, BrokerFactory):
                brokers.extend(value.brokers)
        for b in dict.fromkeys(brokers):
            rep.sections.append((f"rk log {b.bootstrap}", b.log()[-6000:]))


@pytest.fixture
def broker_factory(request):
    factory, fin = _factory()
    try:
        yield factory
        for b in factory.brokers:
            b.check_alive()
    finally:
        fin()


@pytest.fixture(scope="module")
def broker(request):
    factory, fin = _factory()
    try:
        yield factory()
    finally:
        fin()


@pytest.fixture
def fresh_broker(broker_factory):
    return broker_factory()


@pytest.fixture(autouse=True)
def _module_broker_still_alive(request):
    """Turns a crash (panic, abort) of a shared module broker during a test into an error."""
    yield
    for name in ("broker", "gbroker", "txbroker"):
        if name in request.fixturenames:
            request.getfixturevalue(name).check_alive()


def _module_broker(prefix: str, overrides: dict):
    root = tempfile.mkdtemp(prefix=prefix)
    factory = BrokerFactory(root)
    try:
        yield factory(overrides)
    finally:
        factory.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def gbroker():
    """One broker per module with a short initial rebalance delay (the group suites)."""
    from groups_common import GROUP_OVERRIDES

    yield from _module_broker("rk-groups-", GROUP_OVERRIDES)


@pytest.fixture(scope="module")
def txbroker():
    """One broker per module with the EOS overrides (instant group joins, timed-out
    transactions looked for every 500 ms)."""
    from eos_common import EOS_OVERRIDES

    yield from _module_broker("rk-eos-", EOS_OVERRIDES)


# ---------------------------------------------------------------- clusters
#
# A cluster of combined-mode nodes (broker + metadata quorum voter), ids 1..n, each with
# its own data dir, client port and CONTROLLER port. A `ClusterNode` is a `Broker`: it can
# be stop()ped (SIGTERM = controlled shutdown), kill9()ed and start()ed again on the same
# data dir and ports. A `Cluster` is a `BrokerFactory` whose brokers are its nodes, so a
# failing test gets every node's log tail attached (pytest_runtest_makereport above).

CLUSTER_READY_TIMEOUT = 30.0


class ClusterNode(Broker):
    def __init__(self, data_dir: str, node_id: int, port: int, controller_port: int, voters: str, overrides: dict | None = None):
        super().__init__(data_dir, port=port, overrides=overrides)
        self.node_id = node_id
        self.controller_port = controller_port
        self.voters = voters
        self.log_path = Path(data_dir).parent / f"node-{node_id}.log"

    def command(self) -> list[str]:
        cmd = [rk_bin(), "server", "start", "--data-dir", self.data_dir, "--node-id", str(self.node_id)]
        props = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": self.voters,
            **self.overrides,
        }
        for k, v in props.items():
            cmd += ["--override", f"{k}={v}"]
        return cmd

    def spawn(self) -> int:
        """Starts the process without waiting; returns the log offset its output starts at."""
        assert self.proc is None or self.proc.poll() is not None, f"node {self.node_id} already running"
        binary = rk_bin()
        # Someone may be rebuilding the binary: give it a moment to reappear.
        deadline = time.monotonic() + 60
        while not os.path.exists(binary) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not os.path.exists(binary):
            pytest.fail(f"rk binary not found at {binary} (set RK_BIN)")
        self.starts += 1
        self.expect_down = False
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            offset = log.tell()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return offset

    def output_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def ready_since(self, offset: int) -> bool:
        """True once the process started at `offset` printed its ready line; raises
        _PortInUse / fails the test if it exited first."""
        out = self.output_since(offset)
        if "rk: broker ready on" in out:
            return True
        if self.proc.poll() is not None:
            if "Address already in use" in out:
                raise _PortInUse(out)
            pytest.fail(f"node {self.node_id} exited with {self.proc.returncode} before ready:\n{out[-4000:]}")
        return False

    def start(self, timeout: float = CLUSTER_READY_TIMEOUT) -> "ClusterNode":
        """(Re)starts on the same data dir and ports and waits for the ready line."""
        offset = self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_since(offset):
                return self
            time.sleep(0.05)
        self.kill9()
        pytest.fail(f"node {self.node_id} not ready after {timeout}s:\n{self.log()[-4000:]}")


class Cluster(BrokerFactory):
    def __init__(self, root: str, size: int = 3, overrides: dict | None = None):
        super().__init__(root)
        self.size = size
        self.overrides = {"group.initial.rebalance.delay.ms": 0, **(overrides or {})}

    @property
    def nodes(self) -> list[ClusterNode]:
        return self.brokers  # type: ignore[return-value]

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    @property
    def bootstrap(self) -> str:
        """Every node's client address (running or not), comma-separated."""
        return ",".join(n.bootstrap for n in self.nodes)

    def start(self, broker_timeout: float = 30.0) -> "Cluster":
        # All nodes start together (a node only serves once the quorum has a leader), then
        # every one must print its ready line. Free ports are only free when probed: on
        # "Address already in use" start over on new ports and fresh data dirs.
        for attempt in range(3):
            ports = [(free_port(), free_port()) for _ in range(self.size)]
            voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
            self.brokers = [
                ClusterNode(tempfile.mkdtemp(prefix=f"data-{i + 1}-", dir=self.root), i + 1, p, c, voters, self.overrides)
                for i, (p, c) in enumerate(ports)
            ]
            try:
                offsets = [n.spawn() for n in self.nodes]
                deadline = time.monotonic() + CLUSTER_READY_TIMEOUT
                pending = set(range(self.size))
                while pending and time.monotonic() < deadline:
                    pending = {i for i in pending if not self.nodes[i].ready_since(offsets[i])}
                    if pending:
                        time.sleep(0.05)
                if pending:
                    logs = "\n".join(f"--- node {i + 1} ---\n{self.nodes[i].log()[-3000:]}" for i in sorted(pending))
                    pytest.fail(f"nodes {[i + 1 for i in sorted(pending)]} not ready after {CLUSTER_READY_TIMEOUT}s:\n{logs}")
            except _PortInUse:
                self.close()
                if attempt == 2:
                    raise
                continue
            break
        self.wait_for_brokers(self.size, timeout=broker_timeout)
        return self

    def wait_for_brokers(self, count: int, timeout: float = 30.0) -> None:
        """Waits until Metadata (asked of any running node) lists `count` brokers."""
        from confluent_kafka.admin import AdminClient

        running = ",".join(n.bootstrap for n in self.nodes if n.alive())
        adm = AdminClient({"bootstrap.servers": running, "socket.timeout.ms": 5000})
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = sorted(adm.list_topics(timeout=5).brokers)
                if len(seen) == count:
                    return
            except Exception as e:  # noqa: BLE001 - retried until the deadline
                seen = repr(e)
            time.sleep(0.1)
        pytest.fail(f"Metadata did not list {count} brokers within {timeout}s (last: {seen})")

    def close(self):
        """SIGTERM to every running node at once, then kill -9 whatever is left."""
        running = [n for n in self.nodes if n.alive()]
        for n in running:
            n.expect_down = True
            try:
                n.proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        for n in running:
            try:
                n.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for n in self.nodes:
            n.kill9()


@pytest.fixture
def cluster(request):
    """A started 3-node cluster (every node a broker and a quorum voter), torn down after
    the test; fails the test if a node died by itself (not by stop()/kill9()). The node
    logs (node-<id>.log) and data dirs are kept when the test failed."""
    root = tempfile.mkdtemp(prefix="rk-cluster-")
    failed_before = request.session.testsfailed
    c = Cluster(root)
    try:
        c.start()
        yield c
        for n in c.nodes:
            n.check_alive()
    finally:
        c.close()
        if request.session.testsfailed > failed_before:
            tr = request.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.write_line(f"\n{request.node.nodeid}: cluster logs and data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
