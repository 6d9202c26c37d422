"""Exactly-once with kafka-python (its own protocol implementation) against rk: the default
(idempotent) producer, across connection cuts and kill -9; transactions with
read_committed vs read_uncommitted and the last stable offset (ListOffsets per isolation
level); send_offsets_to_transaction; zombie fencing; and the KIP-664 admin APIs
(ListTransactions, DescribeTransactions, DescribeProducers, WriteTxnMarkers abort).

kafka-python >= 3.0 enables idempotence by default (KIP-679), has the full transactional
producer, KafkaConsumer(isolation_level='read_committed') and the transaction admin APIs;
anything the installed version lacks is skipped. Its commit/abort/send_offsets calls block
without a timeout, so they run under `run_bounded`."""

from __future__ import annotations

import threading
import time
from collections import Counter

import kafka
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as Errors
from kafka.structs import OffsetAndMetadata

from conftest import unique
from eos_common import (
    READ_COMMITTED,
    READ_UNCOMMITTED,
    TcpProxy,
    assert_exactly_once_in_order,
    assert_partition_values,
    eventually,
    kp_read_all,
    run_bounded,
    seq_value,
)
from util import kp_admin, kp_create_topic, wait_until

TIMEOUT_MS = 15000
CALL_TIMEOUT = 30.0  # for blocking transactional calls
PARTITIONS = 3

HAS_TXN = all(
    hasattr(KafkaProducer, m)
    for m in ("init_transactions", "begin_transaction", "send_offsets_to_transaction", "commit_transaction", "abort_transaction")
) and "transactional_id" in KafkaProducer.DEFAULT_CONFIG
HAS_READ_COMMITTED = "isolation_level" in KafkaConsumer.DEFAULT_CONFIG
HAS_GROUP_METADATA = hasattr(KafkaConsumer, "group_metadata")
HAS_TXN_ADMIN = all(
    hasattr(KafkaAdminClient, m) for m in ("list_transactions", "describe_transactions", "describe_producers", "abort_transaction")
)
IDEMPOTENT_BY_DEFAULT = KafkaProducer.DEFAULT_CONFIG.get("enable_idempotence") is True

requires_txn = pytest.mark.skipif(
    not (HAS_TXN and HAS_READ_COMMITTED),
    reason=f"kafka-python {kafka.__version__} has no transactional producer or read_committed consumer",
)


@pytest.fixture
def closing():
    """Collects clients to close at teardown (kafka-python keeps background threads)."""
    clients = []
    yield clients
    for c in reversed(clients):
        try:
            c.close(timeout=5) if isinstance(c, KafkaProducer) else c.close()
        except Exception:  # noqa: BLE001
            pass


# ======================================================================= helpers


def create_topic(bs: str, name: str, partitions=PARTITIONS) -> str:
    return kp_create_topic(bs, name, partitions)


def kp_producer(bs: str, **kw) -> KafkaProducer:
    """kafka-python's defaults (idempotent, acks=all) plus short timeouts and backoffs."""
    conf = dict(
        bootstrap_servers=bs,
        linger_ms=5,
        request_timeout_ms=TIMEOUT_MS,
        delivery_timeout_ms=60000,
        reconnect_backoff_max_ms=1000,
        max_block_ms=TIMEOUT_MS,
    )
    conf.update(kw)
    return KafkaProducer(**conf)


def kp_txn_producer(bs: str, txn_id: str, **kw) -> KafkaProducer:
    p = kp_producer(bs, transactional_id=txn_id, **kw)
    run_bounded(p.init_transactions, CALL_TIMEOUT, "init_transactions")
    return p


def commit(p: KafkaProducer):
    run_bounded(p.commit_transaction, CALL_TIMEOUT, "commit_transaction")


def abort(p: KafkaProducer):
    run_bounded(p.abort_transaction, CALL_TIMEOUT, "abort_transaction")


def kp_consumer(bs: str, isolation: str, **kw) -> KafkaConsumer:
    conf = dict(
        bootstrap_servers=bs,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation,
        fetch_max_wait_ms=100,
        request_timeout_ms=TIMEOUT_MS,
        reconnect_backoff_max_ms=1000,
    )
    conf.update(kw)
    return KafkaConsumer(**conf)


def end_offsets(bs: str, topic: str, isolation: str) -> dict[int, int]:
    """ListOffsets(latest) for this isolation level: the high watermark for
    read_uncommitted, the last stable offset for read_committed."""
    c = kp_consumer(bs, isolation)
    try:
        res = c.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return {tp.partition: o for tp, o in res.items()}
    finally:
        c.close()


def send_all(p: KafkaProducer, topic: str, tag: str, partitions, per: int):
    """per records on each partition (round-robin); returns [(partition, value, offset)]
    in produce order, after every send was acknowledged."""
    futs = []
    seq = 0
    for _ in range(per):
        for part in partitions:
            v = seq_value(tag, seq)
            futs.append((part, v, p.send(topic, key=b"%s-%d" % (tag.encode(), seq), value=v, partition=part)))
            seq += 1
    p.flush(timeout=TIMEOUT_MS / 1000)
    out = []
    for part, v, f in futs:
        md = f.get(timeout=TIMEOUT_MS / 1000)
        assert md.partition == part
        out.append((part, v, md.offset))
    return out


def check_reads(bs: str, topic: str, committed: dict, uncommitted: dict, when: str):
    """read_committed sees exactly `committed`, read_uncommitted exactly `uncommitted`
    (per partition, in order), allowing the markers of a just-ended transaction a moment
    to land."""

    def check():
        assert_partition_values(kp_read_all(bs, topic, PARTITIONS, READ_COMMITTED), committed, f"read_committed, {when}")
        assert_partition_values(kp_read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED), uncommitted, f"read_uncommitted, {when}")

    eventually(check)


def check_end_offsets(bs: str, topic: str, isolation: str, expected: dict[int, int], what: str):
    def check():
        got = end_offsets(bs, topic, isolation)
        assert got == expected, f"{what}: ListOffsets({isolation}) gave {got}, expected {expected}"

    eventually(check)


def per_partition(sent) -> dict[int, list[bytes]]:
    out = {p: [] for p in range(PARTITIONS)}
    for part, v, _ in sent:
        out[part].append(v)
    return out


def assert_idempotent(p: KafkaProducer):
    """White box: kafka-python silently runs a default producer without idempotence when it
    infers a broker older than 0.11 from ApiVersions; that would make these tests vacuous."""
    assert getattr(p, "_transaction_manager", None) is not None, (
        "kafka-python runs this producer without idempotence (broker version inferred from ApiVersions < 0.11?)"
    )


def producer_id_and_epoch(p: KafkaProducer):
    """White box: the producer id / epoch kafka-python got from InitProducerId."""
    assert_idempotent(p)
    pe = p._transaction_manager.producer_id_and_epoch
    return pe.producer_id, pe.epoch


class KPStreamer:
    """Sends b"<tag>-<seq>" records keyed k<seq % 37> on a thread until stopped (a chunk of
    50 every 10 ms), recording every outcome."""

    def __init__(self, p: KafkaProducer, topic: str, tag: str):
        self.p, self.topic, self.tag = p, topic, tag
        self.produced: list[bytes] = []
        self.acked: dict[bytes, tuple[int, int]] = {}
        self.failed: dict[bytes, str] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kp-streamer-{tag}", daemon=True)

    def start(self) -> "KPStreamer":
        self._thread.start()
        return self

    def delivered(self) -> int:
        with self._lock:
            return len(self.acked)

    def _ok(self, v, md):
        with self._lock:
            self.acked[v] = (md.partition, md.offset)

    def _err(self, v, e):
        with self._lock:
            self.failed[v] = repr(e)

    def _run(self):
        seq = 0
        try:
            while not self._stop.is_set():
                for _ in range(50):
                    v = seq_value(self.tag, seq)
                    f = self.p.send(self.topic, key=b"k%d" % (seq % 37), value=v)
                    self.produced.append(v)
                    f.add_callback(self._ok, v)
                    f.add_errback(self._err, v)
                    seq += 1
                time.sleep(0.01)
            self.p.flush(timeout=60)
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))

    def stop(self):
        self._stop.set()
        self._thread.join(70)
        assert not self._thread.is_alive(), "producer thread did not finish flushing"

    def check_all_delivered(self):
        assert not self.errors, f"send/flush raised: {self.errors}"
        assert not self.failed, f"{len(self.failed)} records failed, e.g. {list(self.failed.items())[:5]}"
        assert len(self.acked) == len(self.produced), f"{len(self.acked)} of {len(self.produced)} acknowledged"


# ======================================================================= idempotent producer


@pytest.mark.skipif(not IDEMPOTENT_BY_DEFAULT, reason=f"kafka-python {kafka.__version__} is not idempotent by default")
def test_kp_default_producer_is_idempotent(txbroker, closing):
    """A KafkaProducer with default settings is idempotent: it gets a producer id from
    InitProducerId (so the broker's ApiVersions must let kafka-python infer a >= 0.11
    broker) and its keyed records come back exactly once, in order per partition, at the
    offsets the broker acknowledged; the log holds nothing else."""
    bs = txbroker.bootstrap
    topic = create_topic(bs, unique("kp-idem"))
    p = KafkaProducer(bootstrap_servers=bs, linger_ms=5, request_timeout_ms=TIMEOUT_MS)
    closing.append(p)
    produced, futs = [], []
    for i in range(300):
        v = seq_value("idem", i)
        produced.append(v)
        futs.append((v, p.send(topic, key=b"k%d" % (i % 17), value=v)))
    p.flush(timeout=15)
    acked = {}
    for v, f in futs:
        md = f.get(timeout=15)
        acked[v] = (md.partition, md.offset)
    pid, epoch = producer_id_and_epoch(p)
    assert pid >= 0 and epoch >= 0, f"no producer id: {pid}/{epoch}"

    recs = kp_read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED, min_count=300)
    assert_exactly_once_in_order(recs, produced, acked=acked)
    assert sum(end_offsets(bs, topic, READ_UNCOMMITTED).values()) == 300


def test_kp_idempotent_producer_survives_connection_cuts(broker_factory, closing):
    """The default (idempotent) producer through a proxy that resets every connection five
    times while records stream in: the in-flight batch is retried with the same sequence
    numbers and the broker appends it once. All records are acknowledged and in the log
    exactly once, in produce order per partition, at their acknowledged offsets."""
    proxy = TcpProxy()
    try:
        b = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
        proxy.target_port = b.port
        bs = proxy.address
        topic = create_topic(bs, unique("kp-cut"))
        p = kp_producer(bs)
        closing.append(p)
        assert_idempotent(p)
        s = KPStreamer(p, topic, "cut").start()
        cuts = []
        try:
            for i in range(5):
                # 1000 more acks since the last cut, over a connection that is live now.
                base = s.delivered()
                wait_until(lambda: s.delivered() >= base + 1000 and proxy.live() > 0, 20, message=f"1000 more acks before cut {i + 1}")
                cuts.append(proxy.drop_all())
            base = s.delivered()
            wait_until(lambda: s.delivered() >= base + 1000, 20, message="acks after the last cut")
        finally:
            s.stop()
        assert all(n > 0 for n in cuts), f"a cut found no live connection: {cuts}"
        s.check_all_delivered()
        recs = kp_read_all(bs, topic, PARTITIONS, READ_UNCOMMITTED, min_count=len(s.produced), timeout=30)
        assert_exactly_once_in_order(recs, s.produced, acked=s.acked)
    finally:
        proxy.close()


def test_kp_idempotent_producer_survives_broker_kill9(fresh_broker, closing):
    """The default (idempotent) producer streaming while the broker is killed with SIGKILL
    and restarted on the same data dir: the broker rebuilds producer state from its log, so
    the retried batches are deduplicated or appended in order. All records are
    acknowledged and in the log exactly once, in produce order per partition."""
    b = fresh_broker
    topic = create_topic(b.bootstrap, unique("kp-kill"))
    p = kp_producer(b.bootstrap)
    closing.append(p)
    assert_idempotent(p)
    s = KPStreamer(p, topic, "kill").start()
    try:
        wait_until(lambda: s.delivered() >= 2000, 20, message="2000 acks before the crash")
        b.kill9()
        time.sleep(0.5)
        b.start()
        before = s.delivered()
        wait_until(lambda: s.delivered() >= before + 2000, 30, message="2000 acks after the restart")
    finally:
        s.stop()
    s.check_all_delivered()
    recs = kp_read_all(b.bootstrap, topic, PARTITIONS, READ_UNCOMMITTED, min_count=len(s.produced), timeout=30)
    assert_exactly_once_in_order(recs, s.produced, acked=s.acked)


# ======================================================================= transactions


@requires_txn
def test_kp_transactions_commit_abort_isolation(txbroker, closing):
    """Commit, abort (with plain records written while it is open) and commit again.
    While the aborted transaction is open, ListOffsets(read_committed) returns its first
    offset on each partition (the LSO) and ListOffsets(read_uncommitted) the high
    watermark, and a read_committed consumer stops at the LSO. At the end read_committed
    sees exactly the plain and committed records in log order, read_uncommitted every data
    record, both end offsets are the high watermark, which counts one control record per
    transaction per partition."""
    bs = txbroker.bootstrap
    topic = create_topic(bs, unique("kp-txn"))
    plain = kp_producer(bs)
    closing.append(plain)
    tp = kp_txn_producer(bs, unique("kp-tid"))
    closing.append(tp)

    log: dict[int, list[tuple[bytes, str]]] = {p: [] for p in range(PARTITIONS)}
    markers = Counter()

    def write(prod, tag, kind, partitions, per):
        sent = send_all(prod, topic, tag, partitions, per)
        for part, v, _ in sent:
            log[part].append((v, kind))
        return sent

    def visible(kinds, upto=None):
        return {p: [v for v, k in (e if upto is None else e[: upto[p]]) if k in kinds] for p, e in log.items()}

    write(plain, "p0", "plain", range(PARTITIONS), 2)
    tp.begin_transaction()
    markers.update({part for part, _, _ in write(tp, "c1", "committed", range(PARTITIONS), 3)})
    commit(tp)
    write(plain, "p1", "plain", range(PARTITIONS), 1)

    tp.begin_transaction()
    opened = write(tp, "a1", "aborted", range(PARTITIONS), 3)
    markers.update({part for part, _, _ in opened})
    first_open = {p: min(o for part, _, o in opened if part == p) for p in range(PARTITIONS)}
    first_idx = {p: len(log[p]) - 3 for p in range(PARTITIONS)}
    after = write(plain, "p2", "plain", range(PARTITIONS), 2)
    hw_now = {p: max(o for part, _, o in after if part == p) + 1 for p in range(PARTITIONS)}

    check_end_offsets(bs, topic, READ_COMMITTED, first_open, "transaction open: the LSO is its first offset")
    check_end_offsets(bs, topic, READ_UNCOMMITTED, hw_now, "transaction open: the high watermark")
    check_reads(bs, topic, visible({"plain", "committed"}, upto=first_idx), visible({"plain", "committed", "aborted"}), "transaction open")

    abort(tp)
    tp.begin_transaction()
    markers.update({part for part, _, _ in write(tp, "c2", "committed", [0, 1], 2)})
    commit(tp)
    write(plain, "p3", "plain", range(PARTITIONS), 1)

    check_reads(bs, topic, visible({"plain", "committed"}), visible({"plain", "committed", "aborted"}), "the end")
    hw = {p: len(log[p]) + markers[p] for p in range(PARTITIONS)}
    check_end_offsets(bs, topic, READ_UNCOMMITTED, hw, "high watermark: data records + one marker per transaction")
    check_end_offsets(bs, topic, READ_COMMITTED, hw, "no open transaction: the LSO is the high watermark")


@requires_txn
@pytest.mark.skipif(not HAS_GROUP_METADATA, reason=f"kafka-python {kafka.__version__} has no KafkaConsumer.group_metadata()")
def test_kp_send_offsets_to_transaction(txbroker, closing):
    """A group member reads 30 input records; a transactional producer writes their
    transforms and adds the consumed offsets with send_offsets_to_transaction (the member's
    group metadata, KIP-447). Aborted: no offsets are committed for the group and
    read_committed sees no output. Repeated and committed: the group's committed offsets
    are the input end offsets and read_committed sees exactly the second round, in input
    order; read_uncommitted sees both rounds."""
    bs = txbroker.bootstrap
    src = create_topic(bs, unique("kp-so-in"))
    dst = create_topic(bs, unique("kp-so-out"))
    group = unique("kp-so-group")
    plain = kp_producer(bs)
    closing.append(plain)
    sent = send_all(plain, src, "in", range(PARTITIONS), 10)
    inputs = per_partition(sent)

    c = KafkaConsumer(
        bootstrap_servers=bs,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=READ_COMMITTED,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=100,
        request_timeout_ms=TIMEOUT_MS,
    )
    closing.append(c)
    # The member learns the topic's partitions before it joins: with
    # group.initial.rebalance.delay.ms=0 the join can complete before kafka-python's own
    # metadata has the new topic, and the rejoin that follows has been seen to stall
    # kafka-python 3.0 on a loaded machine (its session then expires).
    wait_until(lambda: c.partitions_for_topic(src), message=f"{src} in the consumer's metadata")
    c.subscribe([src])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 30 and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200).values():
            got.extend(recs)
    assert len(got) == 30, f"group member read {len(got)} of 30 input records"
    offsets = {}
    for r in got:
        offsets[TopicPartition(src, r.partition)] = OffsetAndMetadata(r.offset + 1, "", -1)
    assert {tp.partition: om.offset for tp, om in offsets.items()} == {p: 10 for p in range(PARTITIONS)}
    gm = c.group_metadata()
    assert gm.group_id == group and gm.generation_id > 0 and gm.member_id, gm

    p = kp_txn_producer(bs, unique("kp-so-tid"))
    closing.append(p)

    def round_trip(prefix: bytes, do_commit: bool):
        p.begin_transaction()
        for r in got:
            p.send(dst, key=r.key, value=prefix + r.value, partition=r.partition)
        p.flush(timeout=15)
        run_bounded(lambda: p.send_offsets_to_transaction(offsets, c.group_metadata()), CALL_TIMEOUT, "send_offsets_to_transaction")
        (commit if do_commit else abort)(p)

    def committed():
        out = {}
        for q in range(PARTITIONS):
            o = c.committed(TopicPartition(src, q))
            out[q] = -1 if o is None else o
        return out

    round_trip(b"r1:", do_commit=False)
    assert committed() == {q: -1 for q in range(PARTITIONS)}, f"aborted offsets were committed: {committed()}"
    assert kp_read_all(bs, dst, PARTITIONS, READ_COMMITTED) == []

    round_trip(b"r2:", do_commit=True)

    def offsets_committed():
        got = committed()
        assert got == {q: 10 for q in range(PARTITIONS)}, f"group offsets after commit: {got}"

    eventually(offsets_committed)

    r1 = {q: [b"r1:" + v for v in vs] for q, vs in inputs.items()}
    r2 = {q: [b"r2:" + v for v in vs] for q, vs in inputs.items()}
    check_reads(bs, dst, r2, {q: r1[q] + r2[q] for q in r1}, "output")


@requires_txn
def test_kp_zombie_producer_is_fenced(txbroker, closing):
    """Producer A (transactional id X) writes inside an open transaction; producer B with
    the same id calls init_transactions, bumping the epoch and aborting A's transaction.
    A's commit fails with ProducerFencedError (kafka-python maps INVALID_PRODUCER_EPOCH to
    it too) and A can no longer begin a transaction; B commits. read_committed shows only
    B's records, read_uncommitted A's and B's."""
    bs = txbroker.bootstrap
    topic = create_topic(bs, unique("kp-zombie"))
    tid = unique("kp-zombie-tid")
    a = kp_txn_producer(bs, tid)
    closing.append(a)
    a_pid, a_epoch = producer_id_and_epoch(a)
    a.begin_transaction()
    a_sent = send_all(a, topic, "a", range(PARTITIONS), 3)

    b = kp_txn_producer(bs, tid)
    closing.append(b)
    b_pid, b_epoch = producer_id_and_epoch(b)
    # Kafka keeps the producer id of a transactional id and bumps its epoch.
    assert b_pid == a_pid and b_epoch > a_epoch, (
        f"same transactional id: expected the same producer id and a higher epoch, got {a_pid}/{a_epoch} then {b_pid}/{b_epoch}"
    )

    with pytest.raises(Errors.ProducerFencedError):
        commit(a)
    with pytest.raises(Errors.KafkaError):
        a.begin_transaction()

    b.begin_transaction()
    b_sent = send_all(b, topic, "b", range(PARTITIONS), 2)
    commit(b)

    check_reads(bs, topic, per_partition(b_sent), per_partition(a_sent + b_sent), "after fencing")
    # A's abort marker and B's commit marker on every partition.
    check_end_offsets(bs, topic, READ_UNCOMMITTED, {p: 3 + 2 + 2 for p in range(PARTITIONS)}, "high watermark")


# ======================================================================= admin


@requires_txn
@pytest.mark.skipif(not HAS_TXN_ADMIN, reason=f"kafka-python {kafka.__version__} has no transaction admin APIs")
def test_kp_admin_producers_and_transactions(txbroker, closing):
    """KIP-664 admin APIs.
    DescribeProducers: an idempotent producer shows up on each partition it wrote with its
    id, epoch, last sequence (records - 1) and no open transaction; a transactional
    producer with an open transaction shows its first offset there.
    ListTransactions / DescribeTransactions: the open transaction is Ongoing with its
    producer id, epoch, timeout and partitions; after commit it is CompleteCommit with no
    partitions, and state filters select it accordingly. An unknown id is
    TRANSACTIONAL_ID_NOT_FOUND.
    WriteTxnMarkers (admin abort of a hanging transaction on one partition): the LSO moves
    to the high watermark, read_committed skips the aborted records, and the producer no
    longer has an open transaction there."""
    from kafka.admin import AbortTransactionSpec, TransactionState

    bs = txbroker.bootstrap
    topic = create_topic(bs, unique("kp-admin-txn"))
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    adm = kp_admin(bs)
    closing.append(adm)

    idem = kp_producer(bs)
    closing.append(idem)
    idem_sent = send_all(idem, topic, "idem", [0], 4) + send_all(idem, topic, "idem2", [1], 2)
    i_pid, i_epoch = producer_id_and_epoch(idem)

    tid = unique("kp-admin-tid")
    tx = kp_txn_producer(bs, tid, transaction_timeout_ms=45000)
    closing.append(tx)
    t_pid, t_epoch = producer_id_and_epoch(tx)
    begun_ms = int(time.time() * 1000)
    tx.begin_transaction()
    tx_sent = send_all(tx, topic, "tx", [1, 2], 3)
    tx_first = {p: min(o for part, _, o in tx_sent if part == p) for p in (1, 2)}

    states = adm.describe_producers(tps)

    def active(tp):
        return {s.producer_id: s for s in states[tp].active_producers}

    assert set(active(tps[0])) == {i_pid}
    s = active(tps[0])[i_pid]
    assert (s.producer_epoch, s.last_sequence, s.current_transaction_start_offset) == (i_epoch, 3, -1), s
    assert set(active(tps[1])) == {i_pid, t_pid}
    s = active(tps[1])[i_pid]
    assert (s.producer_epoch, s.last_sequence, s.current_transaction_start_offset) == (i_epoch, 1, -1), s
    for p in (1, 2):
        s = active(tps[p])[t_pid]
        assert (s.producer_epoch, s.last_sequence, s.current_transaction_start_offset) == (t_epoch, 2, tx_first[p]), s
    assert set(active(tps[2])) == {t_pid}

    listed = [t for ts in adm.list_transactions().values() for t in ts if t.transactional_id == tid]
    assert [(t.producer_id, t.state) for t in listed] == [(t_pid, TransactionState.ONGOING)], listed
    assert tid in {t.transactional_id for ts in adm.list_transactions(state_filters=["Ongoing"]).values() for t in ts}
    assert tid not in {t.transactional_id for ts in adm.list_transactions(state_filters=["CompleteCommit"]).values() for t in ts}
    assert tid in {t.transactional_id for ts in adm.list_transactions(producer_id_filters=[t_pid]).values() for t in ts}

    d = adm.describe_transactions([tid])[tid]
    assert d.state == TransactionState.ONGOING
    assert (d.producer_id, d.producer_epoch, d.transaction_timeout_ms) == (t_pid, t_epoch, 45000)
    assert d.topic_partitions == {tps[1], tps[2]}
    assert begun_ms - 2000 <= d.transaction_start_time_ms <= int(time.time() * 1000) + 2000, (begun_ms, d)

    commit(tx)

    def completed():
        d = adm.describe_transactions([tid])[tid]
        assert d.state == TransactionState.COMPLETE_COMMIT, d
        assert d.topic_partitions == set(), d
        assert tid in {t.transactional_id for ts in adm.list_transactions(state_filters=["CompleteCommit"]).values() for t in ts}
        for p in (1, 2):
            s = {x.producer_id: x for x in adm.describe_producers([tps[p]])[tps[p]].active_producers}[t_pid]
            assert s.current_transaction_start_offset == -1, s

    eventually(completed)

    with pytest.raises(Errors.TransactionalIdNotFoundError):
        adm.describe_transactions([unique("kp-no-such-tid")])

    # A hanging transaction on partition 0, aborted by an operator with WriteTxnMarkers.
    hang = kp_txn_producer(bs, unique("kp-hang-tid"))
    closing.append(hang)
    h_pid, h_epoch = producer_id_and_epoch(hang)
    hang.begin_transaction()
    hang_sent = send_all(hang, topic, "hang", [0], 2)
    h_first = min(o for _, _, o in hang_sent)
    assert end_offsets(bs, topic, READ_COMMITTED)[0] == h_first
    s = {x.producer_id: x for x in adm.describe_producers([tps[0]])[tps[0]].active_producers}[h_pid]
    assert (s.producer_epoch, s.current_transaction_start_offset) == (h_epoch, h_first), s

    adm.abort_transaction(AbortTransactionSpec(tps[0], h_pid, h_epoch, s.coordinator_epoch))
    hw0 = end_offsets(bs, topic, READ_UNCOMMITTED)[0]
    assert hw0 == max(o for _, _, o in hang_sent) + 2, "an abort marker follows the hanging records"
    assert end_offsets(bs, topic, READ_COMMITTED)[0] == hw0, "LSO moves past the aborted transaction"
    s = {x.producer_id: x for x in adm.describe_producers([tps[0]])[tps[0]].active_producers}[h_pid]
    assert s.current_transaction_start_offset == -1, s

    check_reads(bs, topic, per_partition(idem_sent + tx_sent), per_partition(idem_sent + tx_sent + hang_sent), "after the admin abort")
    try:
        abort(hang)  # let the coordinator finish its side too
    except Exception:  # noqa: BLE001
        pass
