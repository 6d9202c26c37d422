"""Exactly-once with confluent-kafka (librdkafka) against rk: the idempotent producer across
connection cuts and a broker crash, transactions (commit, abort, read_committed vs
read_uncommitted, the last stable offset), consume-transform-produce with
send_offsets_to_transaction across kill -9, zombie fencing, and the coordinator aborting a
transaction that timed out.

librdkafka's defaults matter here: `enable.idempotence` is false unless set (the two tests
about the idempotent producer set it), `isolation.level` is read_committed, and a
transactional.id turns idempotence on by itself.

confluent-kafka has no admin API for ListTransactions / DescribeTransactions /
DescribeProducers (2.16); test_eos_kafka_python.py covers them through kafka-python."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from conftest import unique
from eos_common import (
    EOS_OVERRIDES,
    READ_COMMITTED,
    READ_UNCOMMITTED,
    TcpProxy,
    assert_exactly_once_in_order,
    assert_partition_values,
    eventually,
    read_all,
    read_until,
    seq_value,
    values_by_partition,
)
from util import TIMEOUT, admin, create_topic, kafka_error_name, produce_all, producer, wait_until

PARTITIONS = 3
# librdkafka reports PRODUCER_FENCED and INVALID_PRODUCER_EPOCH from the transaction
# coordinator as the fatal _FENCED (rd_kafka_txn_normalize_err).
FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}


# ======================================================================= helpers


def idempotent_producer(bootstrap: str, **extra) -> Producer:
    conf = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.max.ms": 1000,
    }
    conf.update(extra)
    return Producer(conf)


def txn_producer(bootstrap: str, txn_id: str, **extra) -> Producer:
    """A transactional producer. message.timeout.ms and socket.timeout.ms are left to
    librdkafka, which derives them from transaction.timeout.ms."""
    conf = {
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "linger.ms": 5,
        "reconnect.backoff.max.ms": 1000,
    }
    conf.update(extra)
    return Producer(conf)


def records(topic: str, tag: str, partitions, per_partition: int) -> list[dict]:
    """per_partition records on each of `partitions`, values b"<tag>-<seq>", produce order
    round-robin over the partitions."""
    out = []
    seq = 0
    for _ in range(per_partition):
        for p in partitions:
            out.append({"topic": topic, "partition": p, "key": b"%s-%d" % (tag.encode(), seq), "value": seq_value(tag, seq)})
            seq += 1
    return out


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "rk-eos-hw", "isolation.level": READ_UNCOMMITTED})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT, cached=False)[1] for p in range(partitions)}
    finally:
        c.close()


def fenced(err: KafkaError) -> bool:
    return err.code() in FENCED


def check_reads(bs: str, topic: str, committed: dict, uncommitted: dict, when: str):
    """read_committed sees exactly `committed`, read_uncommitted exactly `uncommitted`
    (per partition, in order), allowing the markers of a just-ended transaction a moment
    to land. Returns both reads."""

    def check():
        rc = read_all(bs, topic, PARTITIONS, READ_COMMITTED)
        assert_partition_values(rc, committed, f"read_committed, {when}")
        ru = read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED)
        assert_partition_values(ru, uncommitted, f"read_uncommitted, {when}")
        return rc, ru

    return eventually(check)


class Streamer:
    """Produces b"<tag>-<seq>" records keyed k<seq % 37> on a thread until stopped (a chunk
    of 50 every 10 ms), recording every delivery report."""

    def __init__(self, p: Producer, topic: str, tag: str):
        self.p, self.topic, self.tag = p, topic, tag
        self.produced: list[bytes] = []
        self.acked: dict[bytes, tuple[int, int]] = {}
        self.failed: dict[bytes, KafkaError] = {}
        self.unflushed = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"streamer-{tag}", daemon=True)

    def start(self) -> "Streamer":
        self._thread.start()
        return self

    def _cb(self, err, msg):
        if err is not None:
            self.failed[msg.value()] = err
        else:
            self.acked[msg.value()] = (msg.partition(), msg.offset())

    def _run(self):
        seq = 0
        while not self._stop.is_set():
            for _ in range(50):
                v = seq_value(self.tag, seq)
                while True:
                    try:
                        self.p.produce(self.topic, key=b"k%d" % (seq % 37), value=v, on_delivery=self._cb)
                        break
                    except BufferError:
                        self.p.poll(0.05)
                self.produced.append(v)
                seq += 1
            self.p.poll(0)
            time.sleep(0.01)
        self.unflushed = self.p.flush(60)

    def stop(self):
        self._stop.set()
        self._thread.join(70)
        assert not self._thread.is_alive(), "producer thread did not finish flushing"

    def check_all_delivered(self):
        assert self.unflushed == 0, f"{self.unflushed} records still undelivered after flush"
        assert not self.failed, f"{len(self.failed)} delivery errors, e.g. {list(self.failed.items())[:5]}"
        assert len(self.acked) == len(self.produced), f"{len(self.acked)} of {len(self.produced)} delivered"


# ======================================================================= idempotent producer


def test_idempotent_producer_survives_connection_cuts(broker_factory):
    """enable.idempotence=true through a proxy that resets every connection six times while
    keyed records stream in: librdkafka retries the in-flight batches with the same
    producer id and sequence numbers, and the broker must append each batch once. Every
    record is delivered, the log holds each exactly once, in produce order per partition,
    at the offset its delivery report gave."""
    proxy = TcpProxy()
    try:
        # Metadata (and FindCoordinator) must send the client back through the proxy.
        b = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
        proxy.target_port = b.port
        bs = proxy.address
        adm = admin(bs)
        topic = create_topic(adm, unique("idem-cut"), partitions=PARTITIONS)
        md = adm.list_topics(timeout=TIMEOUT)
        assert [(x.host, x.port) for x in md.brokers.values()] == [("127.0.0.1", proxy.port)]

        s = Streamer(idempotent_producer(bs), topic, "cut").start()
        cuts = []
        try:
            for i in range(6):
                # 1500 more deliveries since the last cut, over a connection that is live now.
                base = len(s.acked)
                wait_until(lambda: len(s.acked) >= base + 1500 and proxy.live() > 0, 20, message=f"1500 more deliveries before cut {i + 1}")
                cuts.append(proxy.drop_all())
            base = len(s.acked)
            wait_until(lambda: len(s.acked) >= base + 1500, 20, message="deliveries after the last cut")
        finally:
            s.stop()
        assert all(n > 0 for n in cuts), f"a cut found no live connection: {cuts}"
        s.check_all_delivered()

        recs = read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED, min_count=len(s.produced), timeout=30)
        assert_exactly_once_in_order(recs, s.produced, acked=s.acked)
        assert sum(high_watermarks(bs, topic, PARTITIONS).values()) == len(s.produced)
    finally:
        proxy.close()


def test_idempotent_producer_survives_broker_kill9(fresh_broker):
    """enable.idempotence=true streaming keyed records while the broker is killed with
    SIGKILL and restarted on the same data dir: the broker must rebuild each producer's
    state (id, epoch, last sequences) from its log, so the batches librdkafka retries
    after the restart are deduplicated or appended in order. Every record is delivered
    and in the log exactly once, in produce order per partition, at its reported offset."""
    b = fresh_broker
    topic = create_topic(admin(b.bootstrap), unique("idem-kill"), partitions=PARTITIONS)
    s = Streamer(idempotent_producer(b.bootstrap), topic, "kill").start()
    try:
        wait_until(lambda: len(s.acked) >= 3000, 20, message="3000 deliveries before the crash")
        b.kill9()
        time.sleep(0.5)  # records keep queueing (and retrying) while the broker is down
        b.start()
        before = len(s.acked)
        wait_until(lambda: len(s.acked) >= before + 3000, 30, message="3000 deliveries after the restart")
    finally:
        s.stop()
    s.check_all_delivered()

    recs = read_all(b.bootstrap, topic, PARTITIONS, READ_UNCOMMITTED, min_count=len(s.produced), timeout=30)
    assert_exactly_once_in_order(recs, s.produced, acked=s.acked)
    assert sum(high_watermarks(b.bootstrap, topic, PARTITIONS).values()) == len(s.produced)


# ======================================================================= transactions


def test_transactions_commit_abort_isolation(txbroker):
    """One transactional producer commits a transaction, aborts the next and commits a
    third, while a plain producer writes before, between and *during* the aborted one.

    While the aborted transaction is still open, read_committed stops at its first
    offset on every partition (the LSO): the plain records written after it are not
    visible yet, read_uncommitted sees them. Afterwards read_committed sees exactly the
    plain and committed records in log order and none of the aborted ones, and
    read_uncommitted sees every data record (aborted included) but never a control
    record; each partition's high watermark counts one marker per transaction that
    touched it."""
    bs = txbroker.bootstrap
    topic = create_topic(admin(bs), unique("txn-iso"), partitions=PARTITIONS)
    plain = producer(bs)
    tp = txn_producer(bs, unique("tid-iso"))
    tp.init_transactions(TIMEOUT)

    log: dict[int, list[tuple[bytes, str]]] = {p: [] for p in range(PARTITIONS)}  # (value, kind) in log order
    markers = Counter()

    def write(prod, tag, kind, partitions, per):
        recs = records(topic, tag, partitions, per)
        produce_all(prod, recs)
        for r in recs:
            log[r["partition"]].append((r["value"], kind))
        return {r["partition"] for r in recs}

    def visible(kinds, upto=None):
        return {p: [v for v, k in (entries if upto is None else entries[: upto[p]]) if k in kinds] for p, entries in log.items()}

    write(plain, "p0", "plain", range(PARTITIONS), 2)

    tp.begin_transaction()
    markers.update(write(tp, "c1", "committed", range(PARTITIONS), 3))
    tp.commit_transaction(TIMEOUT)

    write(plain, "p1", "plain", range(PARTITIONS), 1)

    tp.begin_transaction()
    markers.update(write(tp, "a1", "aborted", range(PARTITIONS), 3))
    first_open = {p: len(log[p]) - 3 for p in range(PARTITIONS)}  # index of a1's first record per partition
    write(plain, "p2", "plain", range(PARTITIONS), 2)

    # The transaction is open: read_committed ends at the LSO (its first offset).
    check_reads(bs, topic, visible({"plain", "committed"}, upto=first_open), visible({"plain", "committed", "aborted"}), "transaction open")

    tp.abort_transaction(TIMEOUT)

    tp.begin_transaction()
    markers.update(write(tp, "c2", "committed", [0, 1], 2))
    tp.commit_transaction(TIMEOUT)

    write(plain, "p3", "plain", range(PARTITIONS), 1)

    _, everything = check_reads(bs, topic, visible({"plain", "committed"}), visible({"plain", "committed", "aborted"}), "the end")

    hw = high_watermarks(bs, topic, PARTITIONS)
    assert hw == {p: len(log[p]) + markers[p] for p in range(PARTITIONS)}, (
        f"high watermarks {hw}: expected data records + one control record per transaction per partition"
    )
    # Control records take offsets but are never handed to the application.
    for p in range(PARTITIONS):
        offsets = [r.offset for r in everything if r.partition == p]
        assert len(offsets) == len(log[p]) and max(offsets) < hw[p]


def test_zombie_producer_is_fenced(txbroker):
    """Producer A (transactional.id X) begins a transaction and writes records; producer B
    with the same transactional.id calls init_transactions, which bumps the epoch and aborts
    A's transaction. A's commit then fails with a fatal fencing error (PRODUCER_FENCED /
    INVALID_PRODUCER_EPOCH, surfaced by librdkafka as _FENCED) and A stays unusable; B
    commits normally. read_committed shows only B's records, read_uncommitted both."""
    bs = txbroker.bootstrap
    topic = create_topic(admin(bs), unique("zombie"), partitions=PARTITIONS)
    tid = unique("tid-zombie")

    a = txn_producer(bs, tid)
    a.init_transactions(TIMEOUT)
    a.begin_transaction()
    a_recs = records(topic, "a", range(PARTITIONS), 3)
    produce_all(a, a_recs)  # in the log, inside A's open transaction

    b = txn_producer(bs, tid)
    b.init_transactions(TIMEOUT)

    with pytest.raises(KafkaException) as ei:
        a.commit_transaction(TIMEOUT)
    err = ei.value.args[0]
    assert err.fatal(), f"zombie commit failed with a non-fatal error: {err}"
    assert fenced(err), f"zombie commit failed with {kafka_error_name(err.code())}, expected fencing: {err}"
    with pytest.raises(KafkaException):
        a.begin_transaction()

    b.begin_transaction()
    b_recs = records(topic, "b", range(PARTITIONS), 2)
    produce_all(b, b_recs)
    b.commit_transaction(TIMEOUT)

    def per_partition(recs):
        out = {p: [] for p in range(PARTITIONS)}
        for r in recs:
            out[r["partition"]].append(r["value"])
        return out

    check_reads(bs, topic, per_partition(b_recs), per_partition(a_recs + b_recs), "after fencing")
    # A's abort marker and B's commit marker on every partition.
    hw = high_watermarks(bs, topic, PARTITIONS)
    assert hw == {p: len(per_partition(a_recs + b_recs)[p]) + 2 for p in range(PARTITIONS)}


def test_transaction_timeout_aborts_and_fences(txbroker):
    """A producer with transaction.timeout.ms=2000 writes inside a transaction and then
    hangs; a plain producer writes after it. Until the coordinator acts, read_committed
    cannot get past the open transaction (the plain records are invisible). The broker
    aborts it on its own within a few seconds (cleanup every 500 ms here): read_committed
    then reads past it and sees the plain records and none of the hung ones, an abort
    marker follows on every partition, and the hung producer's late commit fails because
    its epoch was bumped (fenced)."""
    bs = txbroker.bootstrap
    topic = create_topic(admin(bs), unique("txn-timeout"), partitions=PARTITIONS)
    hung = txn_producer(bs, unique("tid-hung"), **{"transaction.timeout.ms": 2000})
    hung.init_transactions(TIMEOUT)
    hung.begin_transaction()
    started = time.monotonic()
    hung_recs = records(topic, "hung", range(PARTITIONS), 3)
    produce_all(hung, hung_recs)
    after = records(topic, "after", range(PARTITIONS), 2)
    produce_all(producer(bs), after)
    after_values = {r["value"] for r in after}
    hung_values = {r["value"] for r in hung_recs}

    early = read_all(bs, topic, PARTITIONS, READ_COMMITTED, timeout=5)
    if time.monotonic() - started < 1.8:  # only meaningful before the 2 s timeout can fire
        assert early == [], f"read_committed got past an open transaction: {early[:5]}"

    seen, visible_at = read_until(
        bs,
        topic,
        PARTITIONS,
        READ_COMMITTED,
        lambda rs: after_values <= {r.value for r in rs},
        timeout=15,
        what="the coordinator to abort the timed-out transaction (LSO to move past it)",
    )
    assert visible_at - started >= 1.5, "the transaction was aborted before its 2 s timeout"
    assert not hung_values & {r.value for r in seen}, "records of the timed-out transaction became visible"

    in_log = {p: [r["value"] for r in hung_recs + after if r["partition"] == p] for p in range(PARTITIONS)}
    check_reads(bs, topic, {p: [r["value"] for r in after if r["partition"] == p] for p in range(PARTITIONS)}, in_log, "after the timeout")
    hw = high_watermarks(bs, topic, PARTITIONS)
    assert hw == {p: 3 + 2 + 1 for p in range(PARTITIONS)}, f"expected 3 hung + 2 plain + 1 abort marker per partition: {hw}"

    with pytest.raises(KafkaException) as ei:
        hung.commit_transaction(TIMEOUT)
    err = ei.value.args[0]
    assert fenced(err), f"late commit of a timed-out transaction failed with {kafka_error_name(err.code())}: {err}"
    again = read_all(bs, topic, PARTITIONS, READ_COMMITTED)
    assert not hung_values & {r.value for r in again}


# ======================================================================= offsets in transactions


def group_consumer(bootstrap: str, group: str, **extra) -> Consumer:
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": READ_COMMITTED,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.max.ms": 1000,
        "enable.partition.eof": False,
    }
    conf.update(extra)
    return Consumer(conf)


def produce_input(bs: str, topic: str, n: int):
    """n plain records on the input topic (round-robin partitions); returns the per-partition
    values as read back, and the end offsets."""
    produce_all(producer(bs), [{"topic": topic, "partition": i % PARTITIONS, "key": b"k%d" % i, "value": seq_value("in", i)} for i in range(n)])
    got = read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED, min_count=n)
    vals = values_by_partition(got)
    return vals, {p: len(vals.get(p, [])) for p in range(PARTITIONS)}


def committed_offsets(c: Consumer, topic: str) -> dict[int, int]:
    return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=TIMEOUT)}


def test_send_offsets_commit_and_abort(txbroker):
    """A group consumer reads 30 input records; a transactional producer writes their
    transforms and adds the consumed offsets with send_offsets_to_transaction. Aborted:
    the group has no committed offsets and read_committed sees no output. Done again and
    committed: the group's offsets are the input end offsets, read_committed sees exactly
    the second round's outputs in input order, read_uncommitted both rounds."""
    bs = txbroker.bootstrap
    adm = admin(bs)
    src = create_topic(adm, unique("so-in"), partitions=PARTITIONS)
    dst = create_topic(adm, unique("so-out"), partitions=PARTITIONS)
    group = unique("so-group")
    inputs, ends = produce_input(bs, src, 30)

    c = group_consumer(bs, group)
    p = txn_producer(bs, unique("tid-so"))
    try:
        c.subscribe([src])
        msgs = []
        deadline = time.monotonic() + 20
        while len(msgs) < 30 and time.monotonic() < deadline:
            msgs.extend(m for m in c.consume(num_messages=100, timeout=0.5) if m.error() is None)
        assert len(msgs) == 30, f"group consumer read {len(msgs)} of 30 input records"
        offsets = {}
        for m in msgs:
            offsets[m.partition()] = m.offset() + 1
        assert offsets == {q: n for q, n in ends.items() if n}
        p.init_transactions(TIMEOUT)

        def round_trip(prefix: bytes, commit: bool):
            p.begin_transaction()
            produce_all(p, [{"topic": dst, "partition": m.partition(), "key": m.key(), "value": prefix + m.value()} for m in msgs])
            p.send_offsets_to_transaction(
                [TopicPartition(src, q, o) for q, o in sorted(offsets.items())], c.consumer_group_metadata(), TIMEOUT
            )
            if commit:
                p.commit_transaction(TIMEOUT)
            else:
                p.abort_transaction(TIMEOUT)

        round_trip(b"r1:", commit=False)
        assert all(o < 0 for o in committed_offsets(c, src).values()), f"aborted offsets were committed: {committed_offsets(c, src)}"
        assert read_all(bs, dst, PARTITIONS, READ_COMMITTED) == []

        round_trip(b"r2:", commit=True)

        def offsets_committed():
            got = committed_offsets(c, src)
            assert got == ends, f"group offsets {got}, expected the input end offsets {ends}"

        eventually(offsets_committed)
    finally:
        c.close()

    r1 = {q: [b"r1:" + v for v in vs] for q, vs in inputs.items()}
    r2 = {q: [b"r2:" + v for v in vs] for q, vs in inputs.items()}
    check_reads(bs, dst, r2, {q: r1[q] + r2[q] for q in r1}, "output")


class CtpWorker:
    """A consume-transform-produce loop: consume a batch (read_committed, no auto commit),
    then one transaction per batch: transformed records to the output topic (same
    partition as the input record), the consumed offsets via send_offsets_to_transaction,
    commit. Errors are handled as librdkafka documents: retriable -> call again; abortable
    -> abort_transaction and rewind the consumer to the committed offsets (a new consumer
    in the group); fatal (or anything else) -> new producer (init_transactions fences the
    old one and settles its transaction) and new consumer."""

    def __init__(self, b, src: str, dst: str, group: str, txn_id: str):
        self.b, self.src, self.dst, self.group, self.txn_id = b, src, dst, group, txn_id
        self.stats = Counter()
        self.errors: list[str] = []
        # (from transaction number, stage, fn): fn(worker) runs once, in the first transaction
        # numbered at least that which reaches the stage.
        self.hooks: list[tuple[int, str, callable]] = []
        self.txn_no = 0
        self.c: Consumer | None = None
        self.p: Producer | None = None
        self.new_producer()
        self.new_consumer()

    # -- clients

    def new_producer(self):
        if self.p is not None:
            try:
                self.p.purge()
            except Exception:  # noqa: BLE001
                pass
            self.p = None
        # librdkafka >= 2.16 decommissions every learned broker when all brokers are down
        # (KIP-1102 re-bootstrap, librdkafka PR #5600) but keeps the decommissioned handle
        # in its coordinator cache; send_offsets_to_transaction then waits for that dead
        # handle to change state, which never happens on a one-broker cluster, and ignores
        # its own timeout (librdkafka issue #5511, open). Against Apache Kafka the same
        # happens. Without re-bootstrap the client reconnects to the learned broker and the
        # coordinator lookup proceeds: this is what a single-broker deployment has to set
        # until the client is fixed. Everything else stays at its default.
        p = txn_producer(self.b.bootstrap, self.txn_id, **{"metadata.recovery.strategy": "none"})
        self.retrying(lambda: p.init_transactions(10), "init")
        self.p = p
        self.stats["producers"] += 1

    def new_consumer(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:  # noqa: BLE001
                pass
        self.c = group_consumer(self.b.bootstrap, self.group)
        self.c.subscribe([self.src])
        self.stats["consumers"] += 1

    def close(self):
        if self.c is not None:
            self.c.close()
        self.p = None

    # -- the loop

    def retrying(self, fn, what: str, budget=30.0):
        deadline = time.monotonic() + budget
        while True:
            try:
                return fn()
            except KafkaException as e:
                err = e.args[0]
                if err.retriable() and not err.fatal() and not err.txn_requires_abort() and time.monotonic() < deadline:
                    self.stats[f"retry-{what}"] += 1
                    time.sleep(0.1)
                    continue
                raise

    def hook(self, stage: str):
        for h in list(self.hooks):
            if h[1] == stage and self.txn_no >= h[0]:
                self.hooks.remove(h)
                self.stats[f"hook-{stage}"] += 1
                h[2](self)

    def step(self, max_records=25) -> int:
        data = []
        try:
            for m in self.c.consume(num_messages=max_records, timeout=0.3):
                err = m.error()
                if err is None:
                    data.append(m)
                elif err.fatal():
                    raise KafkaException(err)
        except KafkaException as e:
            self.errors.append(f"consume: {e.args[0]}")
            self.stats["consumer-errors"] += 1
            self.new_consumer()
            return 0
        if not data:
            return 0
        self.txn_no += 1
        try:
            self.p.begin_transaction()
            offsets = {}
            for m in data:
                while True:
                    try:
                        self.p.produce(self.dst, partition=m.partition(), key=m.key(), value=b"out:" + m.value())
                        break
                    except BufferError:
                        self.p.poll(0.05)
                offsets[m.partition()] = m.offset() + 1
            self.hook("produced")
            tps = [TopicPartition(self.src, q, o) for q, o in sorted(offsets.items())]
            self.retrying(lambda: self.p.send_offsets_to_transaction(tps, self.c.consumer_group_metadata(), 10), "send-offsets")
            self.hook("offsets-sent")
            self.retrying(lambda: self.p.commit_transaction(10), "commit")
            self.stats["commits"] += 1
            return len(data)
        except KafkaException as e:
            self.recover(e.args[0])
            return 0

    def recover(self, err: KafkaError):
        self.errors.append(f"txn {self.txn_no}: {err}")
        if not err.fatal() and err.txn_requires_abort():
            try:
                self.retrying(lambda: self.p.abort_transaction(10), "abort")
                self.stats["aborts"] += 1
                self.new_consumer()  # rewind to the committed offsets
                return
            except KafkaException as e:
                self.errors.append(f"txn {self.txn_no}: abort failed: {e.args[0]}")
        self.stats["restarts"] += 1
        self.new_producer()
        self.new_consumer()

    def done(self, ends: dict[int, int]) -> bool:
        try:
            return committed_offsets(self.c, self.src) == ends
        except KafkaException:
            return False


def test_consume_transform_produce_exactly_once_across_kill9(broker_factory):
    """600 input records through a consume-transform-produce loop (send_offsets_to_transaction
    + commit per batch). The broker is killed with SIGKILL twice: once in the middle of a
    transaction (records written, offsets not yet added) and once while a commit is being
    sent; each time it restarts on the same data dir and port. The loop survives by the
    documented error handling. In the end the group's committed offsets are the input end
    offsets, and read_committed output holds every input record transformed exactly once,
    in input order per partition."""
    b = broker_factory(EOS_OVERRIDES)
    bs = b.bootstrap
    adm = admin(bs)
    src = create_topic(adm, unique("ctp-in"), partitions=PARTITIONS)
    dst = create_topic(adm, unique("ctp-out"), partitions=PARTITIONS)
    n = 600
    inputs, ends = produce_input(bs, src, n)

    crashers: list[threading.Thread] = []

    def crash_now(w):
        w.p.flush(10)  # the transaction's records are in the log
        b.kill9()
        b.start()

    def crash_during_commit(w):
        def run():
            time.sleep(0.02)
            b.kill9()
            time.sleep(0.3)
            b.start()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        crashers.append(t)

    w = CtpWorker(b, src, dst, unique("ctp-group"), unique("tid-ctp"))
    w.hooks.append((3, "produced", crash_now))
    w.hooks.append((8, "offsets-sent", crash_during_commit))
    try:
        deadline = time.monotonic() + 90
        finished = False
        while time.monotonic() < deadline:
            if w.step() == 0 and not any(t.is_alive() for t in crashers) and w.done(ends):
                finished = True
                break
        for t in crashers:
            t.join(30)
        assert finished, f"loop did not finish: stats {dict(w.stats)}, errors {w.errors[-10:]}"
    finally:
        w.close()
    assert not w.hooks, f"crash points never reached: {[h[:2] for h in w.hooks]} (stats {dict(w.stats)})"
    assert b.starts == 3, f"broker started {b.starts} times, expected 3"
    assert w.stats["commits"] > 0

    expected = {q: [b"out:" + v for v in vs] for q, vs in inputs.items()}

    def check():
        out = read_all(bs, dst, PARTITIONS, READ_COMMITTED, timeout=30)
        assert len(out) == n, f"{len(out)} committed output records for {n} inputs (stats {dict(w.stats)}, errors {w.errors})"
        assert Counter(r.value for r in out) == Counter(v for vs in expected.values() for v in vs)
        assert_partition_values(out, expected, "read_committed output")
        return out

    out = eventually(check)
    # Aborted attempts may have left records behind, visible to read_uncommitted only.
    raw = read_all(bs, dst, PARTITIONS, READ_UNCOMMITTED, min_count=n, timeout=30)
    assert {r.value for r in out} <= {r.value for r in raw}
