"""Consumer groups (classic protocol) with confluent-kafka (librdkafka) against rk.

Covers: partitions split across members, exactly-once delivery across a group with
per-record synchronous commits, takeover after a member leaves, every librdkafka assignor
(range, roundrobin, cooperative-sticky), static membership without rebalance, committed
offsets (and their metadata) surviving SIGTERM and kill -9, describe/list/delete groups,
OffsetDelete (through kafka-python's admin client: confluent-kafka's Python binding has no
delete_consumer_group_offsets), and bad commits.

Each consumer runs in its own thread (`Member`): it polls, records every message it got,
and (optionally) commits each message synchronously before polling again, so a record the
group committed can never legitimately be read twice. Everything else the test wants done
with a consumer runs on that thread too (`Member.call`).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from concurrent.futures import Future

import pytest
from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)


from conftest import unique
from groups_common import GROUP_OVERRIDES, SETTLE, assert_exactly_once, wait_consumed, wait_split
from util import TIMEOUT, admin, create_topic, kafka_error_name, produce_all, producer, result, wait_until



# ------------------------------------------------------------------ fixtures


@pytest.fixture
def members():
    """Collects the Members a test starts; stops whatever is still running at teardown."""
    started: list[Member] = []
    yield started
    for m in started:
        m.stop(timeout=10)


# ------------------------------------------------------------------ a consumer on its own thread


class Member:
    def __init__(self, bootstrap, group, topics, name, commit=True, **conf):
        self.name = name
        self.group = group
        self.topics = list(topics)
        self.commit_each = commit
        self.limit = None  # stop reading (but stay in the group) after this many records
        self.conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "max.poll.interval.ms": 30000,
            "socket.timeout.ms": 10000,
            "fetch.wait.max.ms": 100,
            "enable.partition.eof": False,
        }
        self.conf.update(conf)
        # A None value drops a default (the consumer protocol refuses session.timeout.ms).
        self.conf = {k: v for k, v in self.conf.items() if v is not None}
        self.lock = threading.Lock()
        self.records: list[tuple[str, int, int, bytes]] = []  # (topic, partition, offset, value)
        self.assignment: frozenset = frozenset()  # {(topic, partition)}
        self.events: list[tuple[str, list]] = []  # ("assign"|"revoke"|"lost", [(t, p)])
        self.errors: list = []  # consumer errors and failed commits
        self.closed = threading.Event()
        self.close_error = None
        self._stop = threading.Event()
        self._calls: queue.Queue = queue.Queue()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"member-{name}", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), f"{name}: consumer did not start"

    # --- thread body
    def _on_assign(self, c, parts):
        with self.lock:
            self.events.append(("assign", sorted((p.topic, p.partition) for p in parts)))

    def _on_revoke(self, c, parts):
        with self.lock:
            self.events.append(("revoke", sorted((p.topic, p.partition) for p in parts)))

    def _on_lost(self, c, parts):
        with self.lock:
            self.events.append(("lost", sorted((p.topic, p.partition) for p in parts)))

    def _run(self):
        c = Consumer(self.conf)
        try:
            c.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        finally:
            self._ready.set()
        try:
            while not self._stop.is_set():
                self._serve_calls(c)
                if self.limit is not None and len(self.records) >= self.limit:
                    time.sleep(0.05)
                    continue
                msg = c.poll(0.1)
                asg = frozenset((tp.topic, tp.partition) for tp in c.assignment())
                with self.lock:
                    self.assignment = asg
                if msg is None:
                    continue
                if msg.error():
                    with self.lock:
                        self.errors.append(("consume", msg.error()))
                    continue
                with self.lock:
                    self.records.append((msg.topic(), msg.partition(), msg.offset(), msg.value()))
                if self.commit_each:
                    try:
                        tp = TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
                        c.commit(offsets=[tp], asynchronous=False)
                    except KafkaException as e:
                        with self.lock:
                            self.errors.append(("commit", msg.partition(), msg.offset(), e.args[0]))
            self._serve_calls(c)
        finally:
            try:
                c.close()
            except Exception as e:  # noqa: BLE001
                self.close_error = e
            with self.lock:
                self.assignment = frozenset()
            self.closed.set()
            # Anything still queued gets an answer rather than a hang.
            while True:
                try:
                    _, fut = self._calls.get_nowait()
                except queue.Empty:
                    break
                fut.set_exception(RuntimeError(f"{self.name} closed"))

    def _serve_calls(self, c):
        while True:
            try:
                fn, fut = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fut.set_result(fn(c))
            except BaseException as e:  # noqa: BLE001
                fut.set_exception(e)

    # --- API for the test thread
    def call(self, fn, timeout=TIMEOUT):
        """Runs fn(consumer) on the member's thread and returns its result."""
        assert not self.closed.is_set(), f"{self.name} already closed"
        fut: Future = Future()
        self._calls.put((fn, fut))
        return fut.result(timeout=timeout)

    def stop(self, timeout=20):
        """close()s the consumer (LeaveGroup for dynamic members) and ends the thread."""
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.name}: close() did not return within {timeout}s"

    def snapshot(self):
        with self.lock:
            return set(self.assignment), list(self.records), list(self.events), list(self.errors)

    def keys(self):
        with self.lock:
            return [(t, p, o) for t, p, o, _ in self.records]

    def group_metadata(self):
        """(generation, member id) from librdkafka's serialized consumer group metadata."""
        return self.call(lambda c: parse_cgmd(c.consumer_group_metadata()))


def parse_cgmd(raw: bytes):
    # librdkafka: "CGMDv2:" int32 generation (host order), group id\0, member id\0, ...
    assert raw.startswith(b"CGMDv2:"), raw
    gen = int.from_bytes(raw[7:11], sys.byteorder, signed=True)
    group, rest = raw[11:].split(b"\0", 1)
    member, _ = rest.split(b"\0", 1)
    return gen, member.decode()


# ------------------------------------------------------------------ helpers


def produce_round(bootstrap, topic, partitions, per_partition, tag):
    """Produces per_partition records to each partition; returns {(topic, p, offset): value}."""
    recs = [
        {"topic": topic, "partition": p, "value": f"{tag}-{p}-{i}".encode()}
        for i in range(per_partition)
        for p in range(partitions)
    ]
    prod = producer(bootstrap)
    delivered = produce_all(prod, recs)
    return {(m.topic(), m.partition(), m.offset()): m.value() for m in delivered}


def no_errors(ms):
    for m in ms:
        errs = m.snapshot()[3]
        assert not errs, f"{m.name}: {errs[:5]}"


def committed(bootstrap, group, tps):
    """Committed offsets as {(topic, p): (offset, metadata)} via AdminClient."""
    adm = admin(bootstrap)
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in tps])
    res = result(adm.list_consumer_group_offsets([req], request_timeout=TIMEOUT)[group])
    out = {}
    for tp in res.topic_partitions:
        assert tp.error is None, f"{tp}: {tp.error}"
        out[(tp.topic, tp.partition)] = (tp.offset, tp.metadata)
    return out


def describe(bootstrap, group):
    adm = admin(bootstrap)
    return result(adm.describe_consumer_groups([group], request_timeout=TIMEOUT)[group])


def listed(bootstrap, states=None):
    adm = admin(bootstrap)
    kw = {"request_timeout": TIMEOUT}
    if states:
        kw["states"] = set(states)
    res = result(adm.list_consumer_groups(**kw))
    assert not res.errors, res.errors
    return {g.group_id: g for g in res.valid}


# ------------------------------------------------------------------ 1, 2: split and takeover


def test_three_members_split_partitions_exactly_once(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-split"), partitions=6)
    group = unique("g-split")
    ms = [Member(bs, group, [topic], f"c{i}", commit=False) for i in range(3)]
    members.extend(ms)

    asg = wait_split(ms, topic, 6, [2, 2, 2])
    # Settled: produce now, so no rebalance can make a record legitimately reappear.
    expected = produce_round(bs, topic, 6, 40, "r1")
    consumed = wait_consumed(ms, expected)
    assert_exactly_once(consumed, expected)
    # Every member read only its own partitions.
    for m, a in zip(ms, asg):
        parts = {(t, p) for t, p, _ in m.keys()}
        assert parts <= a, f"{m.name} read {sorted(parts - a)} outside its assignment {sorted(a)}"
        assert parts == a, f"{m.name} got nothing from {sorted(a - parts)}"
    # The assignments are still the same (no spurious rebalance).
    assert [m.snapshot()[0] for m in ms] == asg
    no_errors(ms)

    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert len(d.members) == 3


def test_member_leaves_remaining_take_over_from_commits(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-take"), partitions=6)
    group = unique("g-take")
    # Records exist before anyone joins: the initial rebalances happen while members are
    # consuming, and only the per-record synchronous commits keep delivery exactly-once.
    expected = produce_round(bs, topic, 6, 30, "r1")
    ms = [Member(bs, group, [topic], f"c{i}") for i in range(3)]
    members.extend(ms)
    wait_split(ms, topic, 6, [2, 2, 2])
    wait_consumed(ms, expected)

    # More records while all three consume.
    r2 = produce_round(bs, topic, 6, 20, "r2")
    expected.update(r2)
    wait_consumed(ms, expected)
    no_errors(ms)
    consumed_before = [k for m in ms for k in m.keys()]
    assert_exactly_once(consumed_before, expected)

    # Everything consumed so far is committed.
    last = {}
    for t, p, o in consumed_before:
        last[(t, p)] = max(last.get((t, p), -1), o)
    offs = committed(bs, group, last)
    assert {k: v[0] for k, v in offs.items()} == {k: o + 1 for k, o in last.items()}

    leaver, stay = ms[2], ms[:2]
    leaver_parts = leaver.snapshot()[0]
    # Records land on every partition; the leaver reads (and commits) only 5 of those on
    # its partitions and then leaves, so the others must resume mid-partition.
    leaver.limit = len(leaver.keys()) + 5
    r3 = produce_round(bs, topic, 6, 10, "r3")
    expected.update(r3)
    wait_until(lambda: len(leaver.keys()) >= leaver.limit, timeout=SETTLE, message="the leaver to read 5 records")
    seen_before = [len(m.keys()) for m in stay]
    leaver.stop()
    wait_split(stay, topic, 6, [3, 3])
    # And more after the rebalance.
    r4 = produce_round(bs, topic, 6, 15, "r4")
    expected.update(r4)
    consumed = wait_consumed(ms, expected)
    no_errors(ms)
    assert_exactly_once(consumed, expected)
    # The survivors started each of the leaver's partitions right after its last commit.
    assert set(leaver.keys()) & set(r3), "the leaver read none of the last round"
    for tp in leaver_parts:
        leaver_last = max(o for t, p, o in leaver.keys() if (t, p) == tp)
        first = min(o for m, n in zip(stay, seen_before) for t, p, o in m.keys()[n:] if (t, p) == tp)
        assert first == leaver_last + 1, f"{tp}: leaver committed {leaver_last + 1}, takeover started at {first}"
    assert leaver.close_error is None, leaver.close_error

    final = committed(bs, group, {(topic, p) for p in range(6)})
    ends = {}
    for t, p, o in expected:
        ends[(t, p)] = max(ends.get((t, p), -1), o + 1)
    assert {k: v[0] for k, v in final.items()} == ends
    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert sorted(m.client_id for m in d.members) == ["c0", "c1"]


CRASHER = r"""
import sys
from confluent_kafka import Consumer, TopicPartition
bs, group, topic = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bs, "group.id": group, "client.id": "crasher",
              "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 100})
c.subscribe([topic])
last = None
while True:
    m = c.poll(0.1)
    asg = sorted(tp.partition for tp in c.assignment())
    if asg != last:
        last = asg
        print("ASSIGNED", *asg, flush=True)
    if m is None or m.error():
        continue
    c.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)], asynchronous=False)
    print("REC", m.partition(), m.offset(), flush=True)
"""


def test_crashed_member_expires_after_session_timeout(gbroker, members, tmp_path):
    """A member killed with -9 sends no LeaveGroup: the coordinator expires it after its
    session timeout (not before) and the survivor takes over from its commits."""
    import subprocess

    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-crash"), partitions=4)
    group = unique("g-crash")
    a = Member(bs, group, [topic], "survivor")
    members.append(a)
    wait_split([a], topic, 4, [4])
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    proc = subprocess.Popen(
        [sys.executable, str(script), bs, group, topic], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:

        def crasher_state():
            asg, recs = set(), []
            for ln in list(lines):
                parts = ln.split()
                if parts and parts[0] == "ASSIGNED":
                    asg = {(topic, int(x)) for x in parts[1:]}
                elif parts and parts[0] == "REC":
                    recs.append((topic, int(parts[1]), int(parts[2])))
            return asg, recs

        everything = {(topic, p) for p in range(4)}
        wait_until(
            lambda: len(a.snapshot()[0]) == 2 and a.snapshot()[0] | crasher_state()[0] == everything,
            timeout=SETTLE,
            message="survivor and crasher to split the partitions",
        )
        crasher_parts = crasher_state()[0]
        expected = produce_round(bs, topic, 4, 20, "c1")
        def all_read():
            return set(expected) <= set(a.keys()) | set(crasher_state()[1])

        wait_until(all_read, timeout=SETTLE, message="round 1 consumed")
        time.sleep(0.3)
        proc.kill()
        proc.wait(10)
        t0 = time.monotonic()
        # Until the session times out the crashed member is still in the group.
        d = describe(bs, group)
        assert d.state == ConsumerGroupState.STABLE
        assert sorted(m.client_id for m in d.members) == ["crasher", "survivor"]
        wait_split([a], topic, 4, [4], timeout=20)
        took = time.monotonic() - t0
        assert 4.0 <= took <= 12.0, f"crashed member expired {took:.1f}s after the crash (session.timeout.ms=6000)"
        expected.update(produce_round(bs, topic, 4, 5, "c2"))
        wait_until(all_read, timeout=SETTLE, message="round 2 consumed")
        time.sleep(0.5)
        assert_exactly_once(a.keys() + crasher_state()[1], expected)
        for tp in crasher_parts:
            last = max(o for t, p, o in crasher_state()[1] if (t, p) == tp)
            first = min(o for t, p, o in a.keys() if (t, p) == tp)
            assert first == last + 1, f"{tp}: crashed member committed {last + 1}, takeover started at {first}"
        no_errors([a])
        d = describe(bs, group)
        assert [m.client_id for m in d.members] == ["survivor"]
    finally:
        proc.kill()
        proc.wait(10)


# ------------------------------------------------------------------ 4: assignors


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_assignor(gbroker, members, strategy):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique(f"grp-{strategy}"), partitions=4)
    group = unique(f"g-{strategy}")
    conf = {"partition.assignment.strategy": strategy}
    a = Member(bs, group, [topic], "a", **conf)
    members.append(a)
    wait_split([a], topic, 4, [4])
    b = Member(bs, group, [topic], "b", **conf)
    members.append(b)
    asg = wait_split([a, b], topic, 4, [2, 2])
    if strategy == "range":
        assert sorted(sorted(p for _, p in x) for x in asg) == [[0, 1], [2, 3]]
    elif strategy == "roundrobin":
        assert sorted(sorted(p for _, p in x) for x in asg) == [[0, 2], [1, 3]]
    expected = produce_round(bs, topic, 4, 25, strategy)
    consumed = wait_consumed([a, b], expected)
    assert_exactly_once(consumed, expected)
    for m, x in zip([a, b], asg):
        assert {(t, p) for t, p, _ in m.keys()} == x
    no_errors([a, b])

    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert d.partition_assignor == strategy
    by_client = {m.client_id: {(tp.topic, tp.partition) for tp in m.assignment.topic_partitions} for m in d.members}
    assert by_client == {"a": asg[0], "b": asg[1]}

    if strategy == "cooperative-sticky":
        # Incremental: a never gave up the partitions it kept (no revoke of everything);
        # the second rebalance only revoked what moved to b.
        events = a.snapshot()[2]
        revoked = [set(map(tuple, ps)) for kind, ps in events if kind == "revoke"]
        assert revoked and all(r <= asg[1] for r in revoked), events
        assert not [e for e in events if e[0] == "lost"], events
        # And b leaving gives a everything back, incrementally.
        b.stop()
        wait_split([a], topic, 4, [4])
        more = produce_round(bs, topic, 4, 5, "after")
        expected.update(more)
        consumed = wait_consumed([a, b], expected)
        assert_exactly_once(consumed, expected)
        no_errors([a])


# ------------------------------------------------------------------ 5: static membership


@pytest.mark.parametrize(
    "strategy,static_first",
    [("range", False), ("range", True), ("cooperative-sticky", True)],
    ids=["range-static-joins-second", "range-static-joins-first", "cooperative-sticky-static-joins-first"],
)
def test_static_member_restart_does_not_rebalance(gbroker, members, strategy, static_first):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-static"), partitions=4)
    group = unique("g-static")
    iid = unique("inst")
    common = {"partition.assignment.strategy": strategy}
    static_conf = dict(common, **{"group.instance.id": iid, "session.timeout.ms": 10000})

    def start_static(name):
        m = Member(bs, group, [topic], name, **static_conf)
        members.append(m)
        return m

    if static_first:
        s = start_static("static")
        wait_split([s], topic, 4, [4])
        other = Member(bs, group, [topic], "other", **common)
        members.append(other)
    else:
        other = Member(bs, group, [topic], "other", **common)
        members.append(other)
        wait_split([other], topic, 4, [4])
        s = start_static("static")
    asg = wait_split([s, other], topic, 4, [2, 2])
    gen, other_id = other.group_metadata()
    s_gen, s_id = s.group_metadata()
    assert gen == s_gen and gen > 0
    time.sleep(1.5)  # several heartbeats: the group is quiet
    other_events = other.snapshot()[2]
    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert {(m.member_id, m.group_instance_id) for m in d.members} == {(other_id, None), (s_id, iid)}

    s.stop()  # static member: close() sends no LeaveGroup
    t0 = time.monotonic()
    s2 = start_static("static-again")
    wait_split([s2, other], topic, 4, [2, 2], timeout=8)
    assert time.monotonic() - t0 < 10, "restart took longer than the session timeout"
    assert s2.snapshot()[0] == asg[0], "the restarted static member got a different assignment"
    time.sleep(2.0)  # several heartbeat intervals: a pending rebalance would show up here

    new_gen, new_other_id = other.group_metadata()
    s2_gen, s2_id = s2.group_metadata()
    events_after = other.snapshot()[2]
    assert (new_gen, new_other_id, events_after, other.snapshot()[0]) == (gen, other_id, other_events, asg[1]), (
        f"the static member's restart caused a rebalance: generation {gen} -> {new_gen}, "
        f"other member id {other_id} -> {new_other_id}, other member's rebalance callbacks "
        f"{other_events} -> {events_after}"
    )
    assert s2_gen == gen
    assert s2_id != s_id, "a rejoining static member gets a new member id"
    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert {(m.member_id, m.group_instance_id) for m in d.members} == {(other_id, None), (s2_id, iid)}
    no_errors([other, s2])

    # The group still works: records on all partitions are read once.
    expected = produce_round(bs, topic, 4, 10, "static")
    consumed = wait_consumed([s, s2, other], expected)
    assert_exactly_once(consumed, expected)


# ------------------------------------------------------------------ 6: commits survive restarts


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_commits_survive_broker_restart(broker_factory, members, how):
    b = broker_factory(GROUP_OVERRIDES)
    bs = b.bootstrap
    topic = create_topic(admin(bs), unique("grp-durable"), partitions=3)
    group = unique("g-durable")
    expected = produce_round(bs, topic, 3, 10, "d")
    m = Member(bs, group, [topic], "first", commit=False)
    members.append(m)
    wait_consumed([m], expected)
    commits = {0: (4, "m-zero"), 1: (7, ""), 2: (10, "meta with spaces ✓")}
    tps = [TopicPartition(topic, p, o, metadata=md) for p, (o, md) in commits.items()]
    res = m.call(lambda c: c.commit(offsets=tps, asynchronous=False))
    assert all(tp.error is None for tp in res), res
    want = {(topic, p): (o, md) for p, (o, md) in commits.items()}
    assert committed(bs, group, want) == want

    if how == "sigterm":
        m.stop()
        b.restart()
    else:
        # Crash right after the commit was acknowledged, the member still in the group.
        b.kill9()
        b.start()
        # The old member finds the restored group again and leaves cleanly.
        m.stop()
    assert committed(bs, group, want) == want

    m2 = Member(bs, group, [topic], "second", commit=False)
    members.append(m2)
    resumed = {k: v for k, v in expected.items() if k[2] >= commits[k[1]][0]}
    assert len(resumed) == 6 + 3
    consumed = wait_consumed([m2], resumed)
    assert_exactly_once(consumed, resumed)
    no_errors([m, m2])

    # Once more, crash with no clean shutdown at all after a second commit.
    res = m2.call(lambda c: c.commit(offsets=[TopicPartition(topic, 0, 9, metadata="again")], asynchronous=False))
    assert res[0].error is None
    b.kill9()
    b.start()
    want[(topic, 0)] = (9, "again")
    assert committed(bs, group, want) == want


# ------------------------------------------------------------------ 7: describe / list


def test_describe_and_list_groups(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-desc"), partitions=4)
    group = unique("g-desc")
    a = Member(bs, group, [topic], "desc-a")
    b = Member(bs, group, [topic], "desc-b")
    members.extend([a, b])
    asg = wait_split([a, b], topic, 4, [2, 2])
    ids = {a.group_metadata()[1]: "desc-a", b.group_metadata()[1]: "desc-b"}

    d = describe(bs, group)
    assert d.group_id == group
    assert d.state == ConsumerGroupState.STABLE
    assert not d.is_simple_consumer_group
    assert d.partition_assignor == "range"
    assert d.coordinator.id == 1 and d.coordinator.port == gbroker.port
    assert len(d.members) == 2
    got = {}
    for mem in d.members:
        assert ids.get(mem.member_id) == mem.client_id, (mem.member_id, mem.client_id, ids)
        assert mem.host.lstrip("/") == "127.0.0.1", mem.host
        assert mem.group_instance_id is None
        got[mem.client_id] = {(tp.topic, tp.partition) for tp in mem.assignment.topic_partitions}
    assert got == {"desc-a": asg[0], "desc-b": asg[1]}

    groups = listed(bs)
    assert group in groups
    assert groups[group].state == ConsumerGroupState.STABLE
    assert not groups[group].is_simple_consumer_group
    assert group in listed(bs, [ConsumerGroupState.STABLE])
    assert group not in listed(bs, [ConsumerGroupState.EMPTY])

    a.stop()
    wait_split([b], topic, 4, [4])
    d = describe(bs, group)
    assert d.state == ConsumerGroupState.STABLE
    assert [m.client_id for m in d.members] == ["desc-b"]
    b.stop()

    d = describe(bs, group)
    assert d.state == ConsumerGroupState.EMPTY
    assert d.members == []
    groups = listed(bs)
    assert group in groups and groups[group].state == ConsumerGroupState.EMPTY
    assert group in listed(bs, [ConsumerGroupState.EMPTY])
    assert group not in listed(bs, [ConsumerGroupState.STABLE])


# ------------------------------------------------------------------ 8: delete groups / offsets


def test_delete_group(gbroker, members):
    bs = gbroker.bootstrap
    adm = admin(bs)
    topic = create_topic(adm, unique("grp-del"), partitions=2)
    group = unique("g-del")
    expected = produce_round(bs, topic, 2, 5, "del")
    m = Member(bs, group, [topic], "del")
    members.append(m)
    wait_consumed([m], expected)
    # No metadata committed: librdkafka reports it as None.
    assert committed(bs, group, [(topic, 0), (topic, 1)]) == {(topic, 0): (5, None), (topic, 1): (5, None)}

    fut = adm.delete_consumer_groups([group], request_timeout=TIMEOUT)[group]
    with pytest.raises(KafkaException) as ei:
        fut.result(timeout=TIMEOUT)
    assert ei.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, kafka_error_name(ei.value.args[0].code())
    assert describe(bs, group).state == ConsumerGroupState.STABLE
    assert committed(bs, group, [(topic, 0)]) == {(topic, 0): (5, None)}

    m.stop()
    assert describe(bs, group).state == ConsumerGroupState.EMPTY
    result(adm.delete_consumer_groups([group], request_timeout=TIMEOUT)[group])
    assert group not in listed(bs)
    assert committed(bs, group, [(topic, 0), (topic, 1)]) == {
        (topic, 0): (OFFSET_INVALID, None),
        (topic, 1): (OFFSET_INVALID, None),
    }
    # Deleting again: the group is gone.
    fut = adm.delete_consumer_groups([group], request_timeout=TIMEOUT)[group]
    with pytest.raises(KafkaException) as ei:
        fut.result(timeout=TIMEOUT)
    assert ei.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, kafka_error_name(ei.value.args[0].code())

    # A new member of the same group id starts from scratch (auto.offset.reset=earliest).
    m2 = Member(bs, group, [topic], "del-again", commit=False)
    members.append(m2)
    consumed = wait_consumed([m2], expected)
    assert_exactly_once(consumed, expected)


def _kp_admin(bs):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=int(TIMEOUT * 1000))


def test_offset_delete(gbroker, members):
    from kafka import TopicPartition as KTP
    from kafka.errors import GroupSubscribedToTopicError, NoError

    bs = gbroker.bootstrap
    adm = admin(bs)
    subscribed = create_topic(adm, unique("grp-odel-sub"), partitions=2)
    other = create_topic(adm, unique("grp-odel-other"), partitions=2)
    group = unique("g-odel")
    # Offsets for both topics, committed while the group is empty (standalone commits).
    c = Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(t, p, 3 + p) for t in (subscribed, other) for p in range(2)]
        res = c.commit(offsets=tps, asynchronous=False)
        assert all(tp.error is None for tp in res), res
    finally:
        c.close()
    keys = [(t, p) for t in (subscribed, other) for p in range(2)]
    assert {k: v[0] for k, v in committed(bs, group, keys).items()} == {(t, p): 3 + p for t, p in keys}

    m = Member(bs, group, [subscribed], "odel", commit=False)
    members.append(m)
    wait_split([m], subscribed, 2, [2])

    kp = _kp_admin(bs)
    try:
        res = kp.delete_group_offsets(group, [KTP(subscribed, 0), KTP(subscribed, 1), KTP(other, 0)])
        assert res == {
            KTP(subscribed, 0): GroupSubscribedToTopicError,
            KTP(subscribed, 1): GroupSubscribedToTopicError,
            KTP(other, 0): NoError,
        }
        now = committed(bs, group, keys)
        assert {k: v[0] for k, v in now.items()} == {
            (subscribed, 0): 3,
            (subscribed, 1): 4,
            (other, 0): OFFSET_INVALID,
            (other, 1): 4,
        }
        m.stop()
        assert describe(bs, group).state == ConsumerGroupState.EMPTY
        res = kp.delete_group_offsets(group, [KTP(subscribed, 0), KTP(other, 1)])
        assert res == {KTP(subscribed, 0): NoError, KTP(other, 1): NoError}
        now = committed(bs, group, keys)
        assert {k: v[0] for k, v in now.items()} == {
            (subscribed, 0): OFFSET_INVALID,
            (subscribed, 1): 4,
            (other, 0): OFFSET_INVALID,
            (other, 1): OFFSET_INVALID,
        }
    finally:
        kp.close()


# ------------------------------------------------------------------ 9: bad input


def test_commit_unknown_topic(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-bad"), partitions=1)
    group = unique("g-bad")
    expected = produce_round(bs, topic, 1, 3, "bad")
    commit_results: queue.Queue = queue.Queue()
    m = Member(bs, group, [topic], "bad", commit=False, on_commit=lambda err, parts: commit_results.put((err, parts)))
    members.append(m)
    wait_consumed([m], expected)
    nope = unique("nope")
    UNKNOWN = KafkaError.UNKNOWN_TOPIC_OR_PART

    def commit_sync(tps):
        """The error a synchronous commit raises (librdkafka raises the first partition error)."""

        def fn(c):
            try:
                c.commit(offsets=tps, asynchronous=False)
            except KafkaException as e:
                return e.args[0].code()
            return None

        return m.call(fn)

    def commit_async(tps):
        """Per-partition results, from the on_commit callback."""
        while not commit_results.empty():
            commit_results.get_nowait()
        m.call(lambda c: c.commit(offsets=tps, asynchronous=True))
        _, parts = commit_results.get(timeout=TIMEOUT)
        return {(tp.topic, tp.partition): (tp.error.code() if tp.error else None) for tp in parts}

    assert commit_sync([TopicPartition(nope, 0, 5)]) == UNKNOWN
    assert commit_async([TopicPartition(nope, 0, 5)]) == {(nope, 0): UNKNOWN}
    # Unknown partition of a known topic.
    assert commit_sync([TopicPartition(topic, 7, 1)]) == UNKNOWN
    assert commit_async([TopicPartition(topic, 7, 1)]) == {(topic, 7): UNKNOWN}
    # Mixed: the good partition is committed, the bad one not. (librdkafka reports the
    # first partition error for every partition of the request, so check the outcome.)
    assert commit_sync([TopicPartition(topic, 0, 2, metadata="ok"), TopicPartition(nope, 1, 1)]) == UNKNOWN
    assert committed(bs, group, [(topic, 0), (nope, 0), (nope, 1)]) == {
        (topic, 0): (2, "ok"),
        (nope, 0): (OFFSET_INVALID, None),
        (nope, 1): (OFFSET_INVALID, None),
    }
    # Metadata above offset.metadata.max.bytes (4096 by default).
    big = [TopicPartition(topic, 0, 3, metadata="x" * 5000)]
    assert commit_sync(big) == KafkaError.OFFSET_METADATA_TOO_LARGE
    assert commit_async(big) == {(topic, 0): KafkaError.OFFSET_METADATA_TOO_LARGE}
    assert committed(bs, group, [(topic, 0)]) == {(topic, 0): (2, "ok")}
    # The unknown topic was not created by the commits.
    adm = admin(bs)
    assert nope not in adm.list_topics(timeout=TIMEOUT).topics

    # The group and the broker still work.
    more = produce_round(bs, topic, 1, 2, "after")
    expected.update(more)
    consumed = wait_consumed([m], expected)
    assert_exactly_once(consumed, expected)
    assert describe(bs, group).state == ConsumerGroupState.STABLE
    assert m.snapshot()[3] == []
    gbroker.check_alive()


def test_session_timeout_out_of_range_is_rejected(gbroker):
    """JoinGroup with session.timeout.ms below group.min.session.timeout.ms fails with
    INVALID_SESSION_TIMEOUT, and the group is not left half-created."""
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("grp-sto"), partitions=1)
    group = unique("g-sto")
    c = Consumer(
        {
            "bootstrap.servers": bs,
            "group.id": group,
            "session.timeout.ms": 1000,
            "heartbeat.interval.ms": 300,
            "enable.auto.commit": False,
        }
    )
    try:
        c.subscribe([topic])
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen:
            msg = c.poll(0.2)
            if msg is not None and msg.error():
                seen.append(msg.error().code())
        assert seen == [KafkaError.INVALID_SESSION_TIMEOUT], [kafka_error_name(x) for x in seen]
        assert c.assignment() == []
    finally:
        c.close()
