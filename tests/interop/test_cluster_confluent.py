"""confluent-kafka (librdkafka) against a 3-node rk cluster (every node a broker and a
quorum voter), through leader failover:

  * a producer with librdkafka's defaults (acks=all, idempotence off) and one with
    enable.idempotence=True write continuously while the leader of partition 0 is
    SIGKILLed and later restarted on the same data dir: every acknowledged message is read
    back at its acknowledged offset (and, idempotent, exactly once and in order);
  * a consumer group member keeps consuming while the leader of partition 0 is SIGTERMed
    (controlled shutdown), and a new member of the group resumes at the committed offsets.

Topics have 3 partitions, replication factor 3 and min.insync.replicas=2.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from conftest import unique
from util import TIMEOUT, admin, result, wait_until

PARTITIONS = 3
TOTAL = 20_000  # messages the failover producer writes at least
RATE = 4_000  # messages/s the failover producer is paced at (so the kill lands mid-stream)
MAX_OUTSTANDING = 5_000  # produced but not yet reported by the delivery callback
PRODUCE_DEADLINE = 45.0  # bound on the whole produce phase (normally 5-8 s)


# ---------------------------------------------------------------- helpers


def partition_metadata(adm, topic: str) -> dict | None:
    """{partition id: PartitionMetadata} as some node sees it now (None if unknown)."""
    try:
        md = adm.list_topics(topic, timeout=5)
    except KafkaException:
        return None
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return dict(t.partitions)


def describe(parts: dict | None) -> str:
    if not parts:
        return repr(parts)
    return ", ".join(f"p{i}: leader {p.leader} isr {sorted(p.isrs)}" for i, p in sorted(parts.items()))


def fully_replicated(adm, topic: str, size: int = 3) -> bool:
    parts = partition_metadata(adm, topic)
    return bool(parts) and len(parts) == PARTITIONS and all(p.leader >= 0 and len(p.isrs) == size for p in parts.values())


def create_replicated_topic(adm, name: str) -> str:
    futs = adm.create_topics(
        [NewTopic(name, num_partitions=PARTITIONS, replication_factor=3, config={"min.insync.replicas": "2"})],
        operation_timeout=10,
        request_timeout=TIMEOUT,
    )
    result(futs[name])
    wait_until(lambda: fully_replicated(adm, name), timeout=20, message=f"{name}: 3 partitions, every ISR full")
    return name


def leader_of(adm, topic: str, partition: int) -> int:
    return partition_metadata(adm, topic)[partition].leader


def led_elsewhere(adm, topic: str, partition: int, node_id: int) -> bool:
    """True when the partition has a leader and it is not `node_id`."""
    parts = partition_metadata(adm, topic)
    return bool(parts) and parts[partition].leader not in (-1, node_id)


def key_of(seq: int) -> bytes:
    return f"key-{seq % 97}".encode()


def value_of(seq: int) -> bytes:
    return f"{seq:08d}".encode()


def read_everything(bootstrap: str, topic: str, group: str, timeout: float = 30.0):
    """Reads the topic from the start with a group consumer (auto.offset.reset=earliest)
    up to the high watermarks; returns {partition: [(offset, seq, key)]} in read order."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        hwm = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT, cached=False)[1] for p in range(PARTITIONS)}
        c.subscribe([topic])
        got: dict[int, list] = defaultdict(list)
        nxt = {p: 0 for p in range(PARTITIONS)}
        deadline = time.monotonic() + timeout
        while any(nxt[p] < hwm[p] for p in hwm) and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    raise AssertionError(f"consumer error: {m.error()}")
                got[m.partition()].append((m.offset(), int(m.value()), m.key()))
                nxt[m.partition()] = max(nxt[m.partition()], m.offset() + 1)
        assert all(nxt[p] >= hwm[p] for p in hwm), f"read up to {nxt} of high watermarks {hwm} within {timeout}s"
        return got
    finally:
        c.close()


# ---------------------------------------------------------------- producer through a killed leader


@pytest.mark.parametrize("idempotent", [False, True], ids=["default-producer", "idempotent-producer"])
def test_acked_messages_survive_a_killed_partition_leader(cluster, idempotent):
    adm = admin(cluster.bootstrap)
    topic = create_replicated_topic(adm, unique("failover"))
    victim = cluster.node(leader_of(adm, topic, 0))

    conf = {"bootstrap.servers": cluster.bootstrap}  # librdkafka defaults: acks=all, retries, ...
    if idempotent:
        conf["enable.idempotence"] = True
    p = Producer(conf)

    acked: list[tuple[int, int, int]] = []  # (partition, offset, seq) in callback order
    failed: list[tuple[int, KafkaError]] = []

    def on_delivery(err, msg):
        seq = int(msg.value())
        if err is not None:
            failed.append((seq, err))
        else:
            assert msg.key() == key_of(seq)
            acked.append((msg.partition(), msg.offset(), seq))

    produced = 0
    phase = "before-kill"
    marks: dict[str, int] = {}  # len(acked) when each phase started
    times: dict[str, float] = {"start": time.monotonic()}
    next_check = 0.0
    deadline = time.monotonic() + PRODUCE_DEADLINE
    while phase != "done":
        now = time.monotonic()
        assert now < deadline, (
            f"produce phase '{phase}' not finished within {PRODUCE_DEADLINE}s: produced {produced}, acked {len(acked)}, "
            f"failed {len(failed)}, marks {marks}; metadata: {describe(partition_metadata(adm, topic))}"
        )
        allowed = min(int((now - times["start"]) * RATE), len(acked) + len(failed) + MAX_OUTSTANDING)
        if produced < allowed:
            for _ in range(allowed - produced):
                try:
                    p.produce(topic, key=key_of(produced), value=value_of(produced), on_delivery=on_delivery)
                except BufferError:
                    break
                produced += 1
        p.poll(0.005)

        if phase == "before-kill" and len(acked) >= 3000:
            victim.kill9()
            marks["killed"] = len(acked)
            times["killed"] = time.monotonic()
            phase = "leader-down"
        elif phase == "leader-down" and now >= next_check:
            # Partition 0 has a new leader and the producer got acks from it.
            next_check = now + 0.25
            p0_since_kill = sum(1 for part, _, _ in acked[marks["killed"] :] if part == 0)
            if p0_since_kill >= 500 and led_elsewhere(adm, topic, 0, victim.node_id):
                times["failed-over"] = time.monotonic()
                victim.start()  # same data dir and ports
                marks["restarted"] = len(acked)
                times["restarted"] = time.monotonic()
                phase = "restarted"
        elif phase == "restarted" and produced >= TOTAL and len(acked) >= marks["restarted"] + 2000 and now >= next_check:
            # Keep writing while the restarted node catches up and rejoins every ISR.
            next_check = now + 0.25
            if fully_replicated(adm, topic):
                times["isr-full"] = time.monotonic()
                phase = "done"

    remaining = p.flush(30)
    times["flushed"] = time.monotonic()
    assert remaining == 0, f"{remaining} messages still undelivered 30 s after the last produce"
    assert not failed, f"{len(failed)} delivery errors, first: {failed[:5]}"
    assert len(acked) == produced
    p0_after_restart = sum(1 for part, _, _ in acked[marks["restarted"] :] if part == 0)
    print(
        f"produced {produced}; acks before kill {marks['killed']}, before restart {marks['restarted']}, "
        f"partition 0 acks after restart {p0_after_restart}; node {victim.node_id} killed; "
        + ", ".join(f"{k} at {v - times['start']:.1f}s" for k, v in times.items() if k != "start")
    )

    got = read_everything(cluster.bootstrap, topic, unique("reader"))

    # Per partition, offsets strictly increase and every key stays on one partition.
    key_partition: dict[bytes, int] = {}
    for part, recs in got.items():
        offs = [o for o, _, _ in recs]
        assert all(a < b for a, b in zip(offs, offs[1:])), f"partition {part}: offsets not strictly increasing"
        for _, seq, key in recs:
            assert key == key_of(seq), f"seq {seq} read with key {key!r}"
            assert key_partition.setdefault(key, part) == part, f"key {key!r} on partitions {key_partition[key]} and {part}"

    # No acknowledged message lost: each one is at its acknowledged partition and offset.
    at = {(part, o): seq for part, recs in got.items() for o, seq, _ in recs}
    missing = [(part, o, seq) for part, o, seq in acked if at.get((part, o)) != seq]
    assert not missing, (
        f"{len(missing)} of {len(acked)} acknowledged messages not at their acknowledged offset "
        f"(partition, offset, seq; found there): {[(m, at.get(m[:2])) for m in missing[:10]]}"
    )
    read = Counter(seq for recs in got.values() for _, seq, _ in recs)
    assert set(read) == set(range(produced)), f"read sequence numbers not produced: {sorted(set(read) - set(range(produced)))[:10]}"
    dups = {seq: n for seq, n in read.items() if n > 1}
    print(f"read {sum(read.values())} messages, {len(dups)} sequence numbers more than once")

    if idempotent:
        # Exactly once, and each partition in produce order.
        assert not dups, f"{len(dups)} duplicated messages with enable.idempotence=True, e.g. {sorted(dups.items())[:10]}"
        assert sum(read.values()) == produced
        for part, recs in got.items():
            seqs = [s for _, s, _ in recs]
            bad = [(a, b) for a, b in zip(seqs, seqs[1:]) if a >= b]
            assert not bad, f"partition {part} out of produce order with idempotence: {bad[:10]}"


# ---------------------------------------------------------------- consumer through a controlled shutdown


def commit_sync(c: Consumer, deadline: float) -> list[TopicPartition]:
    """Commits the consumer's positions synchronously, retrying retriable errors (the
    group coordinator may be moving) until `deadline`."""
    while True:
        try:
            res = c.commit(asynchronous=False)
            errs = [tp for tp in res if tp.error is not None]
            if not errs:
                return res
            err = errs[0].error
        except KafkaException as e:
            err = e.args[0]
        if not err.retriable() or time.monotonic() > deadline:
            raise AssertionError(f"commit failed: {err}")
        time.sleep(0.2)


def test_consumer_keeps_consuming_and_its_commits_through_a_controlled_shutdown(cluster):
    adm = admin(cluster.bootstrap)
    topic = create_replicated_topic(adm, unique("cfailover"))
    group = unique("group")
    victim = cluster.node(leader_of(adm, topic, 0))
    tps = [TopicPartition(topic, i) for i in range(PARTITIONS)]

    p = Producer({"bootstrap.servers": cluster.bootstrap})
    acked: dict[int, tuple[int, int]] = {}  # seq -> (partition, offset)
    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append((msg.value(), err))
        else:
            acked[int(msg.value())] = (msg.partition(), msg.offset())

    seq = 0

    def produce(n: int):
        nonlocal seq
        for _ in range(n):
            p.produce(topic, partition=seq % PARTITIONS, value=value_of(seq), on_delivery=on_delivery)
            seq += 1
        p.poll(0)

    def flush():
        remaining = p.flush(30)
        assert remaining == 0 and not failed, f"{remaining} undelivered, errors {failed[:5]}"

    consumed: dict[int, list[tuple[int, int]]] = defaultdict(list)  # partition -> [(offset, seq)]

    def consume_once(c: Consumer, timeout: float):
        for m in c.consume(num_messages=500, timeout=timeout):
            if m.error():
                raise AssertionError(f"consumer error: {m.error()}")
            consumed[m.partition()].append((m.offset(), int(m.value())))

    def consume_until(c: Consumer, seqs: set, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            seen = {s for recs in consumed.values() for _, s in recs}
            if seqs <= seen:
                return
            assert time.monotonic() < deadline, (
                f"{what}: {len(seqs - seen)} of {len(seqs)} messages not consumed within {timeout}s, "
                f"e.g. {sorted(seqs - seen)[:10]}; metadata: {describe(partition_metadata(adm, topic))}"
            )
            consume_once(c, 0.5)

    c1 = Consumer(
        {"bootstrap.servers": cluster.bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    try:
        c1.subscribe([topic])
        # 1. Before the shutdown.
        produce(300)
        flush()
        consume_until(c1, set(range(300)), 20, "before the shutdown")
        commit_sync(c1, time.monotonic() + 15)

        # 2. The leader of partition 0 shuts down (SIGTERM) while the member keeps polling and
        #    a producer keeps writing.
        rc: list = []
        stopper = threading.Thread(target=lambda: rc.append(victim.stop()), daemon=True)
        t0 = time.monotonic()
        stopper.start()
        during_start = seq
        while stopper.is_alive():
            assert time.monotonic() - t0 < 15, "controlled shutdown did not finish within 15 s"
            produce(5)
            consume_once(c1, 0.05)
        assert rc == [0], f"node {victim.node_id} exited with {rc} on SIGTERM"
        shutdown_s = time.monotonic() - t0
        moved = f"partition 0 led by a node other than {victim.node_id}"
        wait_until(lambda: led_elsewhere(adm, topic, 0, victim.node_id), timeout=10, message=moved)

        # 3. After the shutdown: new messages on every partition reach the same member.
        after_start = seq
        produce(300)
        flush()
        consume_until(c1, set(range(seq)), 25, "during and after the shutdown")
        for part, recs in consumed.items():
            offs = [o for o, _ in recs]
            assert all(a < b for a, b in zip(offs, offs[1:])), f"partition {part}: offsets not strictly increasing"
        for s, (part, off) in acked.items():
            assert (off, s) in consumed[part], f"acked seq {s} at {part}/{off} not consumed there"

        # 4. Commit and leave; the committed offsets are the positions after the last message.
        commit_sync(c1, time.monotonic() + 15)
        expected = {part: max(o for o, _ in recs) + 1 for part, recs in consumed.items()}
        assert set(expected) == set(range(PARTITIONS))
        committed = {tp.partition: tp.offset for tp in c1.committed(tps, timeout=TIMEOUT)}
        assert committed == expected, f"committed {committed}, expected {expected}"
    finally:
        c1.close()
    print(
        f"controlled shutdown of node {victim.node_id} took {shutdown_s:.1f}s; "
        f"{after_start - during_start} messages produced during it; committed {expected}"
    )

    # 5. More messages, then a new member of the group resumes exactly at the commits.
    resume_start = seq
    produce(90)
    flush()
    consumed.clear()
    c2 = Consumer(
        {"bootstrap.servers": cluster.bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    try:
        committed2 = {tp.partition: tp.offset for tp in c2.committed(tps, timeout=TIMEOUT)}
        assert committed2 == expected, f"a new member sees commits {committed2}, expected {expected}"
        c2.subscribe([topic])
        consume_until(c2, set(range(resume_start, seq)), 20, "the new member")
        consume_once(c2, 0.5)  # anything else that would come
        first = {part: recs[0][0] for part, recs in consumed.items()}
        assert first == expected, f"the new member started at {first}, committed {expected}"
        old = sorted(s for recs in consumed.values() for _, s in recs if s < resume_start)
        assert not old, f"the new member re-read committed messages: {old[:10]}"
    finally:
        c2.close()
