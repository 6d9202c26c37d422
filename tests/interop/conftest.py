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
READY_TIMEOUT = 20.0
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
