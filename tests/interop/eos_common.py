"""Shared by the exactly-once suites (test_eos_confluent.py, test_eos_kafka_python.py):
the broker overrides, a TCP proxy that can cut every live connection on demand, "read
everything" helpers for both clients under either isolation level, and the checks that a
log holds each produced record exactly once and in produce order per partition.

Values written by these suites look like b"<tag>-<seq:08d>": `seq` is the position in
the producer's own produce order, so per-partition order can be checked from the log."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from typing import Callable, Iterable, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from util import TIMEOUT

# A module broker for the EOS suites: groups rebalance at once, and timed-out transactions
# are looked for twice a second (Kafka's default is every 10 s).
EOS_OVERRIDES = {
    "group.initial.rebalance.delay.ms": 0,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
}

READ_COMMITTED = "read_committed"
READ_UNCOMMITTED = "read_uncommitted"


# ======================================================================= values


def seq_value(tag: str, seq: int) -> bytes:
    return b"%s-%08d" % (tag.encode(), seq)


def parse_seq(value: bytes) -> tuple[str, int]:
    tag, _, seq = value.rpartition(b"-")
    return tag.decode(), int(seq)


class Rec(NamedTuple):
    """One record as read back from the log (client independent)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def rec_from_confluent(m) -> Rec:
    return Rec(m.partition(), m.offset(), m.key(), m.value())


def rec_from_kp(r) -> Rec:
    return Rec(r.partition, r.offset, r.key, r.value)


def by_partition(recs: Iterable[Rec]) -> dict[int, list[Rec]]:
    """Records grouped per partition, each list in offset order."""
    out: dict[int, list[Rec]] = defaultdict(list)
    for r in sorted(recs, key=lambda r: (r.partition, r.offset)):
        out[r.partition].append(r)
    return dict(out)


def values_by_partition(recs: Iterable[Rec]) -> dict[int, list[bytes]]:
    return {p: [r.value for r in rs] for p, rs in by_partition(recs).items()}


# ======================================================================= checks


def assert_exactly_once_in_order(
    recs: list[Rec],
    produced: list[bytes],
    required: Iterable[bytes] | None = None,
    acked: dict[bytes, tuple[int, int]] | None = None,
    keyed: bool = True,
):
    """The log (`recs`, everything read back) against what a producer tried to write.

    produced  every value the producer handed to the client, in produce order
    required  values that must be in the log (default: all of `produced`); the others
              (e.g. ones whose delivery failed) may be missing but never duplicated
    acked     value -> (partition, offset) from delivery reports: the record must be at
              exactly that position (offsets < 0, i.e. unknown, are not checked)
    keyed     records with the same key must all be on one partition

    Fails on: a record read twice (duplicate write), a record nobody produced, a required
    record missing, records of one partition out of produce order, offsets not strictly
    increasing, an acknowledged position holding something else."""
    index = {v: i for i, v in enumerate(produced)}
    assert len(index) == len(produced), "test bug: produced values are not unique"
    counts = Counter(r.value for r in recs)
    dups = sorted(v for v, n in counts.items() if n > 1)
    assert not dups, f"{len(dups)} records written more than once, e.g. {dups[:5]} at " + str(
        [(r.partition, r.offset) for r in recs if r.value == dups[0]]
    )
    foreign = [r for r in recs if r.value not in index]
    assert not foreign, f"{len(foreign)} records nobody produced, e.g. {foreign[:5]}"
    need = set(produced if required is None else required)
    missing = sorted(need - set(counts), key=lambda v: index[v])
    assert not missing, f"{len(missing)} of {len(need)} records lost, e.g. {missing[:5]}"

    for p, rs in by_partition(recs).items():
        offsets = [r.offset for r in rs]
        assert all(a < b for a, b in zip(offsets, offsets[1:])), f"partition {p}: offsets not increasing"
        seqs = [index[r.value] for r in rs]
        bad = [(rs[i], rs[i + 1]) for i in range(len(seqs) - 1) if seqs[i] >= seqs[i + 1]]
        assert not bad, f"partition {p}: {len(bad)} records out of produce order, e.g. {bad[:3]}"

    if keyed:
        parts: dict[bytes, set[int]] = defaultdict(set)
        for r in recs:
            parts[r.key].add(r.partition)
        split = {k: sorted(ps) for k, ps in parts.items() if len(ps) > 1}
        assert not split, f"records of one key on several partitions: {dict(list(split.items())[:5])}"

    if acked:
        at = {(r.partition, r.offset): r.value for r in recs}
        wrong = [(v, pos, at.get(pos)) for v, pos in acked.items() if pos[1] >= 0 and at.get(pos) != v]
        assert not wrong, (
            f"{len(wrong)} acknowledged positions hold something else (value, (partition, offset), found), "
            f"e.g. {wrong[:5]}"
        )


def assert_partition_values(recs: list[Rec], expected: dict[int, list[bytes]], what: str):
    """Exactly `expected[p]`, in that order, on every partition p (and nothing else)."""
    got = values_by_partition(recs)
    for p in sorted(set(got) | set(expected)):
        g, e = got.get(p, []), expected.get(p, [])
        if g != e:
            extra = sorted(set(g) - set(e))[:5]
            lost = sorted(set(e) - set(g))[:5]
            raise AssertionError(
                f"{what}, partition {p}: got {len(g)} records, expected {len(e)}; "
                f"unexpected {extra}, missing {lost}, first got {g[:5]}, first expected {e[:5]}"
            )


# ======================================================================= proxy


class TcpProxy:
    """A TCP forwarder on 127.0.0.1:<port> to 127.0.0.1:<target>. `drop_all()` resets every
    live connection (both sides), like a network cut; new connections are accepted as
    before. Start the broker with advertised.listeners pointing at the proxy so clients
    keep coming back through it after bootstrap."""

    def __init__(self, target_port: int | None = None):
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(64)
        self._lsock.settimeout(0.2)
        self.port = self._lsock.getsockname()[1]
        self.target_port = target_port
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._closed = threading.Event()
        self.accepted = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def live(self) -> int:
        with self._lock:
            return len(self._pairs)

    def _accept_loop(self):
        while not self._closed.is_set():
            try:
                client, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.target_port is None:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                # Broker down: the client sees a closed connection, as it would without us.
                _reset(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._lock:
                if self._closed.is_set():
                    _reset(client)
                    _reset(upstream)
                    return
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._discard(pair)

    def _discard(self, pair):
        with self._lock:
            if pair not in self._pairs:
                return
            self._pairs.discard(pair)
        for s in pair:
            _reset(s)

    def drop_all(self) -> int:
        """Resets every live connection; returns how many were cut."""
        with self._lock:
            pairs = list(self._pairs)
            self._pairs.clear()
            self.dropped += len(pairs)
        for pair in pairs:
            for s in pair:
                _reset(s)
        return len(pairs)

    def close(self):
        self._closed.set()
        try:
            self._lsock.close()
        except OSError:
            pass
        self.drop_all()
        self._thread.join(2)


def _reset(s: socket.socket):
    """Closes with RST (SO_LINGER 0) after waking any thread blocked in recv on it."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


# ======================================================================= reading back: confluent-kafka


def confluent_reader(bootstrap: str, isolation: str, **extra) -> Consumer:
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": "rk-eos-reader-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": isolation,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.max.ms": 1000,
    }
    conf.update(extra)
    return Consumer(conf)


def read_all(bootstrap: str, topic: str, partitions: int, isolation: str, min_count: int = 0, timeout=TIMEOUT) -> list[Rec]:
    """Every record of `topic` the given isolation level lets a consumer see, from the
    beginning to the end of each partition (the high watermark for read_uncommitted, the
    last stable offset for read_committed: librdkafka reports end-of-partition there).
    Keeps reading until every partition reported its end and at least `min_count` records
    arrived, then a little longer to catch anything beyond."""
    c = confluent_reader(bootstrap, isolation)
    out: list[Rec] = []
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (len(at_end) < partitions or len(out) < min_count):
            for m in c.consume(num_messages=1000, timeout=0.2):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_end.add(m.partition())
                        continue
                    raise AssertionError(f"consumer error reading {topic} ({isolation}): {err}")
                at_end.discard(m.partition())
                out.append(rec_from_confluent(m))
        assert len(at_end) == partitions and len(out) >= min_count, (
            f"reading {topic} ({isolation}): {len(out)} records (want >= {min_count}), "
            f"end reached on partitions {sorted(at_end)} of {partitions} within {timeout}s"
        )
        for m in c.consume(num_messages=1000, timeout=0.3):
            if m.error() is None:
                out.append(rec_from_confluent(m))
    finally:
        c.close()
    return out


def read_until(
    bootstrap: str,
    topic: str,
    partitions: int,
    isolation: str,
    done: Callable[[list[Rec]], bool],
    timeout=TIMEOUT,
    what="records",
) -> tuple[list[Rec], float]:
    """Reads `topic` from the beginning until `done(records so far)`; returns the records and
    the monotonic time it became true."""
    c = confluent_reader(bootstrap, isolation, **{"enable.partition.eof": False})
    out: list[Rec] = []
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.1):
                if m.error() is None:
                    out.append(rec_from_confluent(m))
            if done(out):
                return out, time.monotonic()
        raise AssertionError(f"timed out after {timeout}s waiting for {what} on {topic} ({isolation}); read {len(out)}")
    finally:
        c.close()


# ======================================================================= reading back: kafka-python


def kp_read_all(bootstrap: str, topic: str, partitions: int, isolation: str, min_count: int = 0, timeout=TIMEOUT) -> list[Rec]:
    """kafka-python counterpart of `read_all`: reads every partition from the beginning up
    to its end offset as ListOffsets reports it for this isolation level (high watermark
    for read_uncommitted, last stable offset for read_committed)."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation,
        fetch_max_wait_ms=100,
        request_timeout_ms=int(TIMEOUT * 1000),
        reconnect_backoff_max_ms=1000,
    )
    out: list[Rec] = []
    try:
        tps = [KTP(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        deadline = time.monotonic() + timeout

        def finished():
            return len(out) >= min_count and all(c.position(tp, timeout_ms=5000) >= ends[tp] for tp in tps)

        while time.monotonic() < deadline and not finished():
            for recs in c.poll(timeout_ms=200).values():
                out.extend(rec_from_kp(r) for r in recs)
        assert finished(), (
            f"reading {topic} ({isolation}): {len(out)} records (want >= {min_count}); positions "
            f"{ {tp.partition: c.position(tp) for tp in tps} } vs end offsets { {tp.partition: o for tp, o in ends.items()} }"
        )
        for recs in c.poll(timeout_ms=300).values():
            out.extend(rec_from_kp(r) for r in recs)
    finally:
        c.close()
    return out


# ======================================================================= misc


def eventually(check: Callable[[], object], timeout=10.0, interval=0.2):
    """Runs `check()` (which asserts) until it passes and returns its result; after
    `timeout` seconds the last AssertionError propagates. Kafka answers EndTxn once the
    PrepareCommit/PrepareAbort is in the transaction log and writes the markers after, so
    what read_committed (and the LSO, and the group's offsets) shows may lag a commit or
    abort by a moment: every check after one goes through here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)



def run_bounded(fn: Callable, timeout: float, what: str):
    """Runs fn() on a helper thread and returns its result (or raises its exception); fails
    the test if it has not returned within `timeout` seconds. For client calls that block
    without a timeout of their own (kafka-python's commit/abort/send_offsets)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=run, name=f"bounded-{what}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"{what} did not return within {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")
