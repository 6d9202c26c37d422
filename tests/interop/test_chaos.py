"""The chaos suite (chaos_common.py): idempotent producers and a committing group consumer
(confluent-kafka) run while faults are injected, then the checker counts Jepsen's
anomalies over the history; every count must be zero. Faults: kill -9 of a single node,
kill -9 of the partition leader in a 3-node cluster, SIGSTOP of the leader for longer than
the broker session timeout, a corrupted segment tail found at restart, and network
partitions (each node in its own network namespace, netns.py): the leader cut off from
the other two while clients still reach it, and one follower cut off from the leader;
log.dirs on a small tmpfs filled up, then freed.

CHAOS_CYCLES (default 2) sets the cycles per fault; scripts/chaos runs 20 and writes the
figures to docs/CHAOS.md. Every run appends its figures to target/chaos-results.jsonl.
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import struct
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from chaos_common import ANOMALIES, TXN_ANOMALIES, TxnWorkload, Workload, check, check_txn, read_all, record
from conftest import REPO, BrokerFactory, Cluster, unique
from util import wait_until

CYCLES = int(os.environ.get("CHAOS_CYCLES", "2"))
RESULTS = os.environ.get("CHAOS_RESULTS", str(REPO / "target" / "chaos-results.jsonl"))
PARTITIONS = 3


def create(bootstrap: str, topic: str, rf: int):
    a = AdminClient({"bootstrap.servers": bootstrap})
    config = {"min.insync.replicas": "2"} if rf > 1 else {}
    a.create_topics([NewTopic(topic, PARTITIONS, rf, config=config)])[topic].result(timeout=30)

    def ready():
        t = a.list_topics(topic, timeout=5).topics.get(topic)
        return t is not None and t.error is None and all(p.leader >= 0 and len(p.isrs) == rf for p in t.partitions.values())

    wait_until(ready, timeout=30, message=f"{topic} fully replicated")
    return a


def finish(fault: str, w: Workload, bootstrap: str) -> dict:
    # Liveness: once the faults are over the group consumer catches up with everything
    # acknowledged (a stalled group consumes nothing while the checker finds no anomaly).
    caught_up = w.drain(timeout=90)
    w.stop()
    result = check(w.history, read_all(bootstrap, w.topic, PARTITIONS))
    result["caught_up_s"] = None if caught_up is None else round(caught_up, 1)
    record(RESULTS, fault, CYCLES, result)
    assert result["acknowledged"] > 0, result
    bad = {k: result[k] for k in ANOMALIES if result[k]}
    assert not bad, f"{fault}: anomalies {bad}; examples {result['examples']}"
    assert caught_up is not None, f"{fault}: the group consumer did not catch up within 90 s after the faults: {result}"
    return result


@pytest.fixture
def single(tmp_path):
    factory = BrokerFactory(str(tmp_path))
    b = factory({"group.initial.rebalance.delay.ms": "0"})
    yield b
    factory.close()


@pytest.fixture
def trio(tmp_path):
    c = Cluster(str(tmp_path)).start()
    yield c
    c.close()


def test_kill9_single_node(single):
    topic = unique("chaos-k9")
    create(single.bootstrap, topic, 1)
    w = Workload(single.bootstrap, topic, unique("g")).start()
    for _ in range(CYCLES):
        time.sleep(1.5)
        single.crash_and_restart()
    time.sleep(1.5)
    finish("kill -9 (one node)", w, single.bootstrap)


def test_corrupted_segment_tail_at_restart(single):
    """kill -9, then garbage appended to each partition's active segment (a torn write):
    recovery truncates it and every acknowledged record is still there."""
    topic = unique("chaos-corrupt")
    create(single.bootstrap, topic, 1)
    w = Workload(single.bootstrap, topic, unique("g")).start()
    for _ in range(CYCLES):
        time.sleep(1.5)
        single.kill9()
        for seg in glob.glob(os.path.join(single.data_dir, f"{topic}-*", "*.log")):
            with open(seg, "ab") as f:
                f.write(os.urandom(300))
        single.start()
    time.sleep(1.5)
    finish("corrupt segment tail (one node)", w, single.bootstrap)
    assert "truncat" in single.log().lower(), "recovery reports the damage"


def leader(adm: AdminClient, topic: str, partition: int = 0) -> int:
    return adm.list_topics(topic, timeout=5).topics[topic].partitions[partition].leader


def leader_seen_by(bootstrap: str, topic: str, partition: int = 0) -> int:
    """The partition's leader in the metadata of exactly the broker at `bootstrap` (a raw
    Metadata v1 request: librdkafka sends its metadata requests to any broker it likes, and
    a broker cut off from the quorum answers with its last, stale view)."""
    host, port = bootstrap.rsplit(":", 1)
    name = topic.encode()
    body = struct.pack(">hhih", 3, 1, 7, -1) + struct.pack(">ih", 1, len(name)) + name
    try:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
            b = s.recv(size, socket.MSG_WAITALL)
    except OSError:
        return -1
    pos = 4  # correlation id

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, b, pos)
        pos += struct.calcsize(fmt)
        return v

    def string():
        (n,) = take(">h")
        nonlocal pos
        pos += max(n, 0)

    for _ in range(take(">i")[0]):  # brokers: node id, host, port, rack
        take(">i")
        string()
        take(">i")
        string()
    take(">i")  # controller id
    for _ in range(take(">i")[0]):  # topics
        take(">h")
        string()
        take(">b")
        for _ in range(take(">i")[0]):
            _err, index, lead = take(">hii")
            take(">" + "i" * take(">i")[0])
            take(">" + "i" * take(">i")[0])
            if index == partition:
                return lead
    return -1


def full_isr(adm: AdminClient, topic: str) -> bool:
    try:
        t = adm.list_topics(topic, timeout=5).topics[topic]
        return all(p.leader >= 0 and len(p.isrs) == 3 for p in t.partitions.values())
    except Exception:
        return False


def kill_leader_cycles(cluster, adm: AdminClient, topic: str, cycles: int, pause: float, settle: float = 60):
    """kill -9 of partition 0's leader, restarted a second later and waited for until it is
    back in every ISR, `cycles` times, `pause` seconds apart."""
    for _ in range(cycles):
        time.sleep(pause)
        node = cluster.node(leader(adm, topic))
        node.kill9()
        time.sleep(1.0)
        node.start()
        wait_until(lambda: full_isr(adm, topic), timeout=settle, message="the restarted broker back in every ISR")


def test_leader_kill9_three_nodes(trio):
    topic = unique("chaos-leader")
    adm = create(trio.bootstrap, topic, 3)
    w = Workload(trio.bootstrap, topic, unique("g")).start()
    kill_leader_cycles(trio, adm, topic, CYCLES, pause=1.5)
    time.sleep(1.5)
    finish("kill -9 of the leader (3 nodes)", w, trio.bootstrap)


def test_leader_paused_past_the_session_timeout(trio):
    """SIGSTOP of the leader for 12 s (broker.session.timeout.ms is 9 s): it is fenced and
    leadership moves; after SIGCONT it must not serve stale writes or lose acknowledged ones."""
    topic = unique("chaos-pause")
    adm = create(trio.bootstrap, topic, 3)
    w = Workload(trio.bootstrap, topic, unique("g")).start()
    pause_cycles(trio, adm, topic, lambda: leader(adm, topic))
    finish("SIGSTOP of the leader past the session timeout (3 nodes)", w, trio.bootstrap)


def pause_cycles(cluster, adm: AdminClient, topic: str, victim) -> None:
    """CYCLES // 2 times: SIGSTOP of the node `victim()` names for 12 s, SIGCONT, then
    wait until it is back in every ISR of `topic`."""
    for _ in range(max(1, CYCLES // 2)):
        time.sleep(1.5)
        node = cluster.node(victim())
        node.proc.send_signal(signal.SIGSTOP)
        time.sleep(12)
        node.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: full_isr(adm, topic), timeout=60, message="the paused broker back in every ISR")
    time.sleep(1.5)


def coordinator(bootstrap: str, group: str) -> int:
    """The node coordinating `group` (DescribeGroups' answer), once the group is known. A
    new admin client each time: librdkafka's admin caches a group's coordinator while it is
    used (metadata.max.age.ms) and keeps asking a former coordinator, which answers
    NOT_COORDINATOR, after the group moved."""
    errors = []

    def ask():
        try:
            adm = AdminClient({"bootstrap.servers": bootstrap})
            return adm.describe_consumer_groups([group], request_timeout=5)[group].result(timeout=10).coordinator.id
        except Exception as e:  # noqa: BLE001 - kept for the failure message
            errors.append(repr(e))
            return None

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        node = ask()
        if node is not None:
            return node
        time.sleep(0.2)
    raise AssertionError(f"no coordinator of {group} within 60 s; last errors: {errors[-3:]}")


def test_group_coordinator_paused_past_the_session_timeout(trio):
    """SIGSTOP of the group's coordinator for 12 s every cycle (past the consumer's 10 s
    session and the brokers' 9 s session): each time the client gives its member up and
    joins the coordinator that took over, whose rebalance waits for the old member to
    expire, so the group makes little progress while the pauses go on — as in Kafka,
    whose coordinator also restores a loaded group's members with a full session. Nothing
    may be lost or duplicated, and once the pauses end the group must catch up."""
    topic, group = unique("chaos-coord"), unique("g")
    adm = create(trio.bootstrap, topic, 3)
    w = Workload(trio.bootstrap, topic, group).start()
    pause_cycles(trio, adm, topic, lambda: coordinator(trio.bootstrap, group))
    finish("SIGSTOP of the group coordinator past the session timeout (3 nodes)", w, trio.bootstrap)


def test_transactions_under_leader_kills(trio):
    """Transactional producers and a read_committed consumer while the partition leader (and
    with it, often, the transaction coordinator) is killed: nothing of an aborted
    transaction is ever read, every committed one is read whole, once."""
    topic = unique("chaos-txn")
    adm = create(trio.bootstrap, topic, 3)
    w = TxnWorkload(trio.bootstrap, topic).start()
    kill_leader_cycles(trio, adm, topic, CYCLES, pause=2.0)
    time.sleep(2.0)
    w.stop()
    result = check_txn(w.history, read_all(trio.bootstrap, topic, PARTITIONS, isolation="read_committed"))
    record(RESULTS, "transactions, kill -9 of the leader (3 nodes)", CYCLES, result)
    assert result["committed"] > 0, (result, w.errors[:5])
    bad = {k: result[k] for k in TXN_ANOMALIES if result[k]}
    assert not bad, f"anomalies {bad}; examples {result['examples']}"


def test_slow_disks_and_leader_kills(tmp_path, monkeypatch):
    """Every node's disk slow (each log write delayed up to 20 ms, each fsync up to 200 ms,
    rk's RK_FAULTS) while the leader is killed: slower, never wrong."""
    monkeypatch.setenv("RK_FAULTS", "log.write.jitter.ms=20,log.flush.jitter.ms=200")
    c = Cluster(str(tmp_path))
    try:
        c.start(broker_timeout=90)
        topic = unique("chaos-slow")
        adm = create(c.bootstrap, topic, 3)
        w = Workload(c.bootstrap, topic, unique("g")).start()
        kill_leader_cycles(c, adm, topic, max(1, CYCLES // 2), pause=2.0, settle=90)
        time.sleep(2.0)
        finish("slow disks + kill -9 of the leader (3 nodes)", w, c.bootstrap)
    finally:
        c.close()


@pytest.fixture
def tmpfs(tmp_path):
    """A 48 MiB tmpfs (root only; skipped where mount is not permitted)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(directory) -> str:
    """Writes zeros into directory/filler until the file system is full."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        for chunk in (b"\0" * (64 << 10), b"\0" * 512):
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass
    return path


def test_disk_full_single_node(tmp_path, tmpfs):
    """log.dirs on a small tmpfs filled up for 2 s, then freed, each cycle: produce answers
    KAFKA_STORAGE_ERROR meanwhile (the idempotent producers retry), nothing acknowledged is
    lost or duplicated, and the broker takes writes again once space is back."""
    factory = BrokerFactory(str(tmp_path))
    try:
        b = factory({"log.dirs": str(tmpfs), "group.initial.rebalance.delay.ms": "0"})
        topic = unique("chaos-full")
        create(b.bootstrap, topic, 1)
        w = Workload(b.bootstrap, topic, unique("g")).start()
        for _ in range(CYCLES):
            time.sleep(1.5)
            filler = fill(tmpfs)
            time.sleep(2)
            os.remove(filler)
        time.sleep(3)
        finish("disk full, then space freed (one node)", w, b.bootstrap)
        assert b.alive(), b.log()
        assert "No space left on device" in b.log_path.read_text(errors="replace"), "the disk never filled up"
    finally:
        factory.close()


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def test_wall_clock_jumps_single_node(tmp_path):
    """The broker's wall clock steps forward and back by hours (as an NTP step does; the
    monotonic clock is left alone) under libfaketime while the workload runs: nothing
    acknowledged is lost or reordered, and the broker keeps serving."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    from conftest import Broker

    if not os.path.exists(FAKETIME_LIB):
        pytest.skip("libfaketime is not installed (Debian package faketime)")
    clock = tmp_path / "faketime"
    clock.write_text("+0\n")

    class FakeTimeBroker(Broker):
        def command(self):
            env = [f"LD_PRELOAD={FAKETIME_LIB}", f"FAKETIME_TIMESTAMP_FILE={clock}", "FAKETIME_CACHE_DURATION=1", "DONT_FAKE_MONOTONIC=1"]
            return ["env", *env, *super().command()]

    b = FakeTimeBroker(str(tmp_path / "data"), overrides={"group.initial.rebalance.delay.ms": "0"}).start()
    try:
        topic = unique("chaos-clock")
        adm = create(b.bootstrap, topic, 1)
        stamps = unique("chaos-stamp")
        adm.create_topics([NewTopic(stamps, 1, 1, config={"message.timestamp.type": "LogAppendTime"})])[stamps].result(timeout=30)
        w = Workload(b.bootstrap, topic, unique("g")).start()
        p = Producer({"bootstrap.servers": b.bootstrap})
        for jump_h in [3, -3, -2, 5, 0] * max(1, CYCLES // 2):
            time.sleep(1.5)
            clock.write_text(f"{jump_h:+d}h\n")
            time.sleep(1.5)  # libfaketime re-reads the file every second
            p.produce(stamps, value=str(jump_h).encode())
            p.flush(30)
        time.sleep(1.5)
        finish("wall clock jumps of hours (one node)", w, b.bootstrap)
        # The jumps were real: the broker stamped LogAppendTime records hours apart.
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g"), "enable.partition.eof": False})
        c.assign([TopicPartition(stamps, 0, 0)])
        seen = {}
        deadline = time.monotonic() + 30
        while len(seen) < 4 and time.monotonic() < deadline:
            m = c.poll(1)
            if m is not None and m.error() is None:
                seen[int(m.value())] = m.timestamp()[1]
        c.close()
        # The +5h and -3h records are 8 h apart when both jumps took; libfaketime re-reads
        # its file about every second, so one jump may land a moment late: ask for 2 h.
        span = (max(seen.values()) - min(seen.values())) / 3_600_000
        assert span > 2, f"LogAppendTime stamps only {span:.2f} h apart: {seen}"
        assert b.alive()
    finally:
        b.stop()


@pytest.fixture
def netns_trio(tmp_path):
    from netns import Netns, NetnsCluster, NetnsUnavailable

    try:
        net = Netns(3)
    except NetnsUnavailable as e:
        pytest.skip(f"network namespaces unavailable (needs root and iproute2): {e}")
    c = NetnsCluster(str(tmp_path), net)
    try:
        yield c.start()
    finally:
        c.close()
        net.close()


def test_network_partitions_three_nodes(netns_trio):
    """Alternating partitions past the broker session timeout: the partition-0 leader cut off
    from both other nodes (it can no longer grow its ISR: with min.insync.replicas=2 it must
    not acknowledge alone, and the majority elects a new leader), then one follower cut off
    from the leader (it leaves the ISR and catches up after the heal)."""
    c, net = netns_trio, netns_trio.net
    topic = unique("chaos-part")
    adm = create(c.bootstrap, topic, 3)
    w = Workload(c.bootstrap, topic, unique("g")).start()
    for cycle in range(CYCLES):
        time.sleep(1.5)
        lead = leader(adm, topic)
        if cycle % 2 == 0:
            net.isolate(lead)
        else:
            follower = next(n for n in (1, 2, 3) if n != lead)
            net.cut(lead, follower)
        time.sleep(12)
        if cycle % 2 == 0:
            # The majority side has fenced the cut-off leader and elected another.
            other = c.node(next(n for n in (1, 2, 3) if n != lead))
            # When the cut-off node was also the quorum leader, the new controller gives
            # every broker a fresh session first (as Kafka's does): allow for that.
            wait_until(lambda: leader_seen_by(other.bootstrap, topic) not in (lead, -1), timeout=40,
                       message="the majority to move leadership off the cut-off node")
        net.heal()
        wait_until(lambda: full_isr(adm, topic), timeout=90, message="every node back in every ISR after the heal")
    time.sleep(1.5)
    finish("network partitions (3 nodes)", w, c.bootstrap)


def test_the_checker_finds_each_anomaly():
    """The checker over a made-up history: each anomaly it names is counted."""
    from chaos_common import History

    h = History()
    h.acked = {"w0-0": (0, 0), "w0-1": (0, 1), "w0-2": (0, 2), "w1-0": (1, 0), "w1-1": (1, 5)}
    h.seen = [(0, 0), (0, 1), (0, 3)]  # jumps over offset 2
    h.commits = [(0, 3), (0, 2)]  # goes backwards
    records = {0: [(0, "w0-0"), (1, "w0-2"), (2, "w0-1"), (3, "w0-1")], 1: [(0, "w1-0"), (1, "w1-1")]}
    r = check(h, records)
    assert (r["lost"], r["moved"], r["duplicated"], r["reordered"], r["poll_skip"], r["commit_back"]) == (0, 3, 1, 2, 1, 1), r
    r = check(h, {0: [(0, "w0-0")]})
    assert r["lost"] == 4, r


def test_the_transaction_checker_finds_each_anomaly():
    from chaos_common import TxnHistory

    h = TxnHistory()
    h.txns = {"t0-0": ["t0-0-0", "t0-0-1"], "t0-1": ["t0-1-0", "t0-1-1"], "t0-2": ["t0-2-0", "t0-2-1"]}
    h.outcome = {"t0-0": "committed", "t0-1": "aborted", "t0-2": "unknown"}
    h.seen = ["t0-1-1"]
    r = check_txn(h, {0: [(0, "t0-0-0"), (1, "t0-0-0"), (2, "t0-1-0"), (3, "t0-2-0")]})
    assert (r["aborted_read"], r["lost"], r["partial"], r["duplicated"]) == (2, 1, 3, 1), r
    r = check_txn(h, {0: [(0, "t0-0-0"), (1, "t0-0-1")]})
    assert (r["aborted_read"], r["lost"], r["partial"], r["duplicated"]) == (1, 0, 0, 0), r
