"""The consumer group protocol (KIP-848, `group.protocol=consumer`) with confluent-kafka
(librdkafka 2.12+) against rk, with the client's defaults otherwise.

Covers: a group splitting partitions and consuming each record exactly once with commits,
a member leaving and another taking over its partitions, a member joining a running
group (incremental: nobody loses what it keeps), a regex subscription that picks up a
topic created later, the range server assignor, describe/list through the admin client
and through `rk consumer-groups`, the offline upgrade of a classic group (its committed
offsets are where the consumer-protocol members start), and a classic member refused
while consumer-protocol members are in the group.
"""

from __future__ import annotations

import subprocess

from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, ConsumerGroupType, TopicPartition

from conftest import rk_bin, unique
from groups_common import assert_exactly_once, wait_consumed, wait_split
from test_group_tools import rk as run_rk
from test_groups import Member, members, produce_round  # noqa: F401  (fixture)
from util import TIMEOUT, admin, consumer, create_topic, result, wait_until

# librdkafka refuses the classic protocol's own settings under group.protocol=consumer.
KIP848 = {"group.protocol": "consumer", "session.timeout.ms": None, "heartbeat.interval.ms": None}


def cmember(bs, group, topics, name, **conf):
    return Member(bs, group, topics, name, **{**KIP848, **conf})


def rk(broker, *args):
    """rk's output, which must succeed (test_group_tools' runner)."""
    r = run_rk(broker, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_members_split_commit_and_take_over(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("cp-split"), partitions=6)
    group = unique("g-cp")
    a = cmember(bs, group, [topic], "a")
    members.append(a)
    wait_split([a], topic, 6, [6])
    b = cmember(bs, group, [topic], "b")
    members.append(b)
    wait_split([a, b], topic, 6, [3, 3])
    # KIP-848 rebalances are incremental: a only ever gave partitions up.
    assert [e for e in a.snapshot()[2] if e[0] == "lost"] == []
    expected = produce_round(bs, topic, 6, 30, "r1")
    got = wait_consumed([a, b], expected.keys())
    assert_exactly_once(got, expected.keys())

    # The group as the admin client sees it.
    adm = admin(bs)  # kept: a collected AdminClient never completes its futures
    d = result(adm.describe_consumer_groups([group], request_timeout=TIMEOUT)[group])
    assert d.type == ConsumerGroupType.CONSUMER
    assert d.state == ConsumerGroupState.STABLE
    assert len(d.members) == 2
    assigned = sorted((tp.topic, tp.partition) for m in d.members for tp in m.assignment.topic_partitions)
    assert assigned == [(topic, p) for p in range(6)]
    listed = result(adm.list_consumer_groups(request_timeout=TIMEOUT))
    mine = [g for g in listed.valid if g.group_id == group]
    assert mine and mine[0].type == ConsumerGroupType.CONSUMER

    # ...and as rk consumer-groups shows it (KIP-1099 columns with --verbose).
    out = rk(gbroker, "consumer-groups", "--describe", "--group", group, "--members", "--verbose")
    assert "CURRENT-EPOCH" in out and "TARGET-ASSIGNMENT" in out, out
    out = rk(gbroker, "consumer-groups", "--describe", "--group", group, "--state", "--verbose")
    assert "GROUP-EPOCH" in out and "uniform" in out and "Stable" in out, out
    out = rk(gbroker, "consumer-groups", "--list", "--type", "consumer")
    assert any(line.split()[:2] == [group, "Consumer"] for line in out.splitlines()), out
    out = rk(gbroker, "consumer-groups", "--describe", "--group", group)
    lag = [line.split() for line in out.splitlines() if line.startswith(group)]
    assert len(lag) == 6 and all(row[5] == "0" for row in lag), out

    # a leaves: b takes everything, and records produced since are read once.
    a.stop()
    wait_split([b], topic, 6, [6])
    more = produce_round(bs, topic, 6, 10, "r2")
    wait_consumed([b], set(more))
    assert_exactly_once([k for m in (a, b) for k in m.keys()], set(expected) | set(more))


def test_regex_subscription_and_range_assignor(gbroker, members):
    bs = gbroker.bootstrap
    prefix = unique("cprx")
    first = create_topic(admin(bs), f"{prefix}-one", partitions=2)
    group = unique("g-rx")
    m = cmember(bs, group, [f"^{prefix}-.*"], "rx", **{"group.remote.assignor": "range", "topic.metadata.refresh.interval.ms": 1000})
    members.append(m)
    wait_until(lambda: {t for t, _ in m.snapshot()[0]} == {first}, timeout=30, message="the regex to match the first topic")
    second = create_topic(admin(bs), f"{prefix}-two", partitions=3)
    wait_until(lambda: len(m.snapshot()[0]) == 5, timeout=30, message="the topic created later to be assigned")
    expected = produce_round(bs, second, 3, 5, "rx")
    got = wait_consumed([m], expected.keys())
    assert_exactly_once([k for k in got if k[0] == second], expected.keys())
    adm = admin(bs)
    d = result(adm.describe_consumer_groups([group], request_timeout=TIMEOUT)[group])
    assert d.partition_assignor == "range"


def test_offline_upgrade_from_a_classic_group(gbroker, members):
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("cp-up"), partitions=2)
    group = unique("g-up")
    first = produce_round(bs, topic, 2, 10, "old")
    # A classic consumer reads the first round and commits.
    c = consumer(bs, **{"group.id": group, "enable.auto.commit": False})
    c.subscribe([topic])
    ends = {}
    while sum(ends.values()) < len(first):
        msg = c.poll(TIMEOUT)
        assert msg is not None and not msg.error()
        ends[msg.partition()] = msg.offset() + 1
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in ends.items()], asynchronous=False)
    c.close()
    second = produce_round(bs, topic, 2, 10, "new")
    # The same group with the consumer protocol starts where the classic one committed.
    m = cmember(bs, group, [topic], "upgraded")
    members.append(m)
    got = wait_consumed([m], second.keys())
    assert_exactly_once(got, second.keys())
    # While it is in the group, a classic member is refused.
    classic = Member(bs, group, [topic], "classic", commit=False)
    members.append(classic)
    wait_until(lambda: classic.snapshot()[3], timeout=30, message="the classic member to be refused")
    assert "INCONSISTENT_GROUP_PROTOCOL" in str(classic.snapshot()[3]), classic.snapshot()[3]
    assert classic.snapshot()[1] == []
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])
    adm = admin(bs)
    committed = result(adm.list_consumer_group_offsets([req])[group])
    assert committed.topic_partitions[0].offset >= 10


def test_rk_client_and_librdkafka_share_a_consumer_group(gbroker, members):
    """rk's own consumer (rk console-consumer, group.protocol=consumer) and librdkafka in
    one group: the partitions split between them and every record is read once."""
    bs = gbroker.bootstrap
    topic = create_topic(admin(bs), unique("cp-mixed"), partitions=6)
    group = unique("g-mixed")
    m = cmember(bs, group, [topic], "rdkafka")
    members.append(m)
    wait_split([m], topic, 6, [6])
    proc = subprocess.Popen(
        [rk_bin(), "console-consumer", "--bootstrap-server", bs, "--topic", topic, "--group", group,
         "--consumer-property", "group.protocol=consumer", "--property", "print.partition=true", "--timeout-ms", "15000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: len(m.snapshot()[0]) == 3, timeout=30, message="librdkafka to give up half")
        adm = admin(bs)

        def two_stable():
            d = result(adm.describe_consumer_groups([group], request_timeout=TIMEOUT)[group])
            sizes = sorted(len(x.assignment.topic_partitions) for x in d.members)
            return d.state == ConsumerGroupState.STABLE and sizes == [3, 3]

        wait_until(two_stable, timeout=30, message="both members to settle on 3 partitions each")
        expected = produce_round(bs, topic, 6, 20, "mixed")
        values = {v for v in expected.values()}
        wait_until(lambda: len(m.keys()) >= 60, timeout=30, message="librdkafka's share")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    rk_values = [line.split("\t", 1)[1].encode() for line in out.splitlines() if "\t" in line]
    rd_values = [r[3] for r in m.snapshot()[1]]
    assert len(rk_values) == 60, err[-2000:]
    assert sorted(rk_values + rd_values) == sorted(values)
