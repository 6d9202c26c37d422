"""The chaos suite's workload and checker (Jepsen's anomaly names), shared by the short
run in the default tests (test_chaos.py) and the long one (scripts/chaos).

Workload: idempotent producers (confluent-kafka, acks=all, its defaults otherwise) write
`w<worker>-<seq>` records while faults are injected; every acknowledgement is logged with
its partition and offset. A group consumer reads along and commits; every record it sees
and every committed offset is logged. After the faults, a fresh consumer reads every
partition to its end.

Checker, over that history:
  lost        acknowledged, never read back
  moved       acknowledged at one offset, read back at another
  duplicated  read back more than once (idempotence is on)
  reordered   one worker's records out of order within a partition
  poll_skip   the group consumer jumped over offsets it never saw
  commit_back a committed offset lower than one committed before
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


@dataclass
class History:
    acked: dict = field(default_factory=dict)  # value -> (partition, offset)
    failed: int = 0  # deliveries that reported an error (not acknowledged: allowed to be lost)
    seen: list = field(default_factory=list)  # (partition, offset) the group consumer saw, in order
    commits: list = field(default_factory=list)  # (partition, offset) committed, in order
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Threads:
    """`workers` producer threads (`_produce(worker)`) and one consumer thread (`_consume`)
    running until stop()."""

    workers: int
    _stop: threading.Event
    _threads: list

    def start(self):
        self._threads = [threading.Thread(target=self._produce, args=(w,), daemon=True) for w in range(self.workers)]
        self._threads.append(threading.Thread(target=self._consume, daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=180)


# CHAOS_DEBUG=cgrp,fetch turns on librdkafka's debug contexts for the group consumer
# (written to stderr: run pytest with -s to keep them) when a liveness problem needs a look.
DEBUG = {"debug": os.environ["CHAOS_DEBUG"]} if os.environ.get("CHAOS_DEBUG") else {}


class Workload(_Threads):
    """Producers and a group consumer running in threads until stop()."""

    def __init__(self, bootstrap: str, topic: str, group: str, workers: int = 2, rate: float = 400.0):
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.workers, self.rate = workers, rate
        self.history = History()
        self._stop = threading.Event()
        self._drain = threading.Event()
        self._threads: list[threading.Thread] = []

    def drain(self, timeout: float) -> float | None:
        """Liveness after the faults: stops the producers (they flush), then waits for the
        group consumer to have seen every acknowledged record. Returns the seconds that took,
        None when it did not happen within `timeout`."""
        self._drain.set()
        for t in self._threads[: self.workers]:
            t.join(timeout=180)
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with self.history.lock:
                seen = set(self.history.seen)
                missing = sum(1 for po in self.history.acked.values() if po not in seen)
            if missing == 0:
                return time.monotonic() - started
            time.sleep(0.2)
        return None


    def _produce(self, worker: int):
        h = self.history
        p = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "linger.ms": 2,
                      "message.timeout.ms": 120000, "socket.timeout.ms": 10000})

        def delivered(err, msg):
            with h.lock:
                if err is None:
                    h.acked[msg.value().decode()] = (msg.partition(), msg.offset())
                else:
                    h.failed += 1

        seq = 0
        interval = 1.0 / self.rate
        while not (self._stop.is_set() or self._drain.is_set()):
            value = f"w{worker}-{seq}"
            try:
                p.produce(self.topic, key=f"w{worker}-{seq % 64}".encode(), value=value.encode(), on_delivery=delivered)
                seq += 1
            except BufferError:
                pass
            p.poll(interval)
        p.flush(120)

    def _consume(self):
        h = self.history
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "session.timeout.ms": 10000, "socket.timeout.ms": 10000,
                      **DEBUG})
        c.subscribe([self.topic])
        last_commit = time.monotonic()
        while not self._stop.is_set():
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                with h.lock:
                    h.seen.append((m.partition(), m.offset()))
            if time.monotonic() - last_commit > 0.5:
                last_commit = time.monotonic()
                try:
                    done = c.commit(asynchronous=False)
                    with h.lock:
                        h.commits.extend((tp.partition, tp.offset) for tp in done or [] if tp.error is None and tp.offset >= 0)
                except Exception:
                    pass  # a commit during a fault may fail; the next one retries
        c.close()


def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 120.0, isolation: str = "read_uncommitted") -> dict:
    """Every record of every partition, to the end offsets: {partition: [(offset, value)]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-check-{time.time_ns()}", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": isolation})
    ends = {}
    deadline = time.monotonic() + timeout
    while len(ends) < partitions and time.monotonic() < deadline:
        for p in range(partitions):
            try:
                _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
                ends[p] = hi
            except Exception:
                time.sleep(0.5)
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = defaultdict(list)
    done = {p for p, hi in ends.items() if hi == 0}
    while len(done) < partitions and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            # A transaction marker can be the last offset: no record is delivered for it.
            for tp in c.position([TopicPartition(topic, p) for p in range(partitions) if p not in done]):
                if tp.offset >= ends.get(tp.partition, 0):
                    done.add(tp.partition)
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                time.sleep(0.2)
            continue
        out[m.partition()].append((m.offset(), m.value().decode()))
        if m.offset() + 1 >= ends.get(m.partition(), 0):
            done.add(m.partition())
    c.close()
    return out


def check(h: History, records: dict) -> dict:
    """Anomaly counts of a run (every one must be 0) and its size."""
    where = defaultdict(list)
    for p, recs in records.items():
        for off, v in recs:
            where[v].append((p, off))
    lost = [v for v in h.acked if v not in where]
    moved = [v for v, at in h.acked.items() if v in where and at not in where[v]]
    duplicated = [v for v, at in where.items() if len(at) > 1]
    reordered = 0
    for p, recs in records.items():
        last = {}
        for _, v in recs:
            w, seq = v.rsplit("-", 1)
            if int(seq) <= last.get(w, -1):
                reordered += 1
            last[w] = int(seq)
    # The group consumer: within one assignment it must not jump over offsets.
    poll_skip = 0
    prev = {}
    for p, off in h.seen:
        if p in prev and off > prev[p] + 1:
            poll_skip += 1
        prev[p] = off
    commit_back = 0
    high = {}
    for p, off in h.commits:
        if off < high.get(p, -1):
            commit_back += 1
        high[p] = max(off, high.get(p, -1))
    return {
        "acknowledged": len(h.acked), "failed_deliveries": h.failed, "read": sum(len(r) for r in records.values()),
        "consumed": len(h.seen), "commits": len(h.commits),
        "lost": len(lost), "moved": len(moved), "duplicated": len(duplicated), "reordered": reordered,
        "poll_skip": poll_skip, "commit_back": commit_back,
        "examples": {"lost": lost[:5], "moved": moved[:5], "duplicated": duplicated[:5]},
    }


ANOMALIES = ("lost", "moved", "duplicated", "reordered", "poll_skip", "commit_back")
TXN_ANOMALIES = ("aborted_read", "lost", "partial", "duplicated")


@dataclass
class TxnHistory:
    txns: dict = field(default_factory=dict)  # txn name -> list of values
    outcome: dict = field(default_factory=dict)  # txn name -> "committed" | "aborted" | "unknown"
    seen: list = field(default_factory=list)  # values a read_committed group consumer saw
    lock: threading.Lock = field(default_factory=threading.Lock)


class TxnWorkload(_Threads):
    """Transactional producers (a tenth of their transactions aborted on purpose) and a
    read_committed consumer, in threads until stop(). A transaction whose commit failed
    ambiguously is "unknown": all of it or none of it may be visible."""

    def __init__(self, bootstrap: str, topic: str, workers: int = 2, per_txn: int = 10):
        self.bootstrap, self.topic, self.workers, self.per_txn = bootstrap, topic, workers, per_txn
        self.history = TxnHistory()
        self.errors: list = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.tag = f"{time.time_ns() % 10**9}"


    def _producer(self, worker: int) -> Producer:
        p = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": f"chaos-{self.tag}-{worker}", "linger.ms": 2,
                      "socket.timeout.ms": 10000, "transaction.timeout.ms": 30000, "message.timeout.ms": 30000})
        while not self._stop.is_set():
            try:
                p.init_transactions(30)
                return p
            except Exception as e:  # noqa: BLE001 - the coordinator may be moving; retried
                self.errors.append(("init", str(e)))
                time.sleep(0.5)
        return p

    def _produce(self, worker: int):
        from confluent_kafka import KafkaException

        h = self.history
        p = self._producer(worker)
        n = 0
        while not self._stop.is_set():
            name = f"t{worker}-{n}"
            values = [f"{name}-{i}" for i in range(self.per_txn)]
            with h.lock:
                h.txns[name] = values
                h.outcome[name] = "unknown"
            n += 1
            try:
                p.begin_transaction()
                for v in values:
                    p.produce(self.topic, key=name.encode(), value=v.encode())
                if n % 10 == 0:
                    p.abort_transaction(30)
                    outcome = "aborted"
                else:
                    p.commit_transaction(30)
                    outcome = "committed"
                with h.lock:
                    h.outcome[name] = outcome
            except KafkaException as e:
                err = e.args[0]
                self.errors.append((name, str(err)))
                if err.txn_requires_abort():
                    try:
                        p.abort_transaction(30)
                        with h.lock:
                            h.outcome[name] = "aborted"
                    except KafkaException:
                        p = self._producer(worker)
                elif err.fatal() or not err.retriable():
                    p = self._producer(worker)
            time.sleep(0.02)

    def _consume(self):
        h = self.history
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"chaos-rc-{self.tag}", "auto.offset.reset": "earliest",
                      "isolation.level": "read_committed", "session.timeout.ms": 10000})
        c.subscribe([self.topic])
        while not self._stop.is_set():
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                with h.lock:
                    h.seen.append(m.value().decode())
        c.close()


def check_txn(h: TxnHistory, records: dict) -> dict:
    """Transactional anomalies over a read_committed read of everything (every count must be 0):
      aborted_read  a record of an aborted transaction was read (here or by the live consumer)
      lost          a committed transaction's record was not read
      partial       a transaction only partly visible
      duplicated    a record read more than once"""
    read = [v for recs in records.values() for _, v in recs]
    counts = defaultdict(int)
    for v in read:
        counts[v] += 1
    by_txn = defaultdict(int)
    for v in counts:
        by_txn[v.rsplit("-", 1)[0]] += 1
    aborted = {t for t, o in h.outcome.items() if o == "aborted"}
    aborted_read = [v for v in list(counts) + h.seen if v.rsplit("-", 1)[0] in aborted]
    lost = [v for t, vs in h.txns.items() if h.outcome[t] == "committed" for v in vs if v not in counts]
    partial = [t for t, vs in h.txns.items() if 0 < by_txn.get(t, 0) < len(vs)]
    duplicated = [v for v, n in counts.items() if n > 1]
    outcomes = defaultdict(int)
    for o in h.outcome.values():
        outcomes[o] += 1
    return {
        "transactions": len(h.txns), "committed": outcomes["committed"], "aborted": outcomes["aborted"], "unknown": outcomes["unknown"],
        "read": len(read), "consumed": len(h.seen),
        "aborted_read": len(aborted_read), "lost": len(lost), "partial": len(partial), "duplicated": len(duplicated),
        "examples": {"aborted_read": aborted_read[:5], "lost": lost[:5], "partial": partial[:5]},
    }


def record(path: str, fault: str, cycles: int, result: dict):
    """Appends one run's figures to the results file (JSON lines)."""
    with open(path, "a") as f:
        f.write(json.dumps({"fault": fault, "cycles": cycles, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}) + "\n")
