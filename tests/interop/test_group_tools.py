"""`rk consumer-groups` and `rk leader-election` against groups made by real
confluent-kafka consumers: describe while members are active, lag after more
produce, every reset scenario in dry-run and execute mode (read back through the
admin API), export/from-file round trip, refusal on an active group, delete and
delete-offsets, and leader-election output for all three ways of naming partitions."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition

from conftest import _factory, rk_bin, unique
from util import admin, consumer, create_topic


@pytest.fixture(scope="module")
def gbroker():
    factory, fin = _factory()
    try:
        yield factory({"group.initial.rebalance.delay.ms": "0"})
    finally:
        fin()


def rk(broker, *args, timeout=60):
    return subprocess.run([rk_bin(), *args, "--bootstrap-server", broker.bootstrap],
                          capture_output=True, text=True, timeout=timeout)


def produce(broker, topic, n, partitions):
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(n):
        p.produce(topic, value=f"m{i}".encode(), partition=i % partitions)
    assert p.flush(10) == 0


def committed(broker, group, topic, partitions):
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])]
    adm = admin(broker.bootstrap)  # keep the client alive until the future resolves
    res = adm.list_consumer_group_offsets(req)[group].result(10)
    return {tp.partition: tp.offset for tp in res.topic_partitions}


def active_consumer(broker, group, topic, want_partitions):
    c = consumer(broker.bootstrap, **{"group.id": group, "client.id": "interop-client"})
    c.subscribe([topic])
    deadline = time.time() + 20
    while time.time() < deadline and len(c.assignment()) < want_partitions:
        c.poll(0.2)
    assert len(c.assignment()) == want_partitions
    return c


def test_describe_active_group_lag_and_refused_reset(gbroker):
    topic, group = unique("cg"), unique("g")
    create_topic(admin(gbroker.bootstrap), topic, partitions=2)
    produce(gbroker, topic, 10, 2)
    c = active_consumer(gbroker, group, topic, 2)
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 3)], asynchronous=False)
        r = rk(gbroker, "consumer-groups", "--describe", "--group", group)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.split("\n")
        assert lines[0] == ""
        assert lines[1].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                    "CONSUMER-ID", "HOST", "CLIENT-ID"]
        rows = [l.split() for l in lines[2:] if l.strip()]
        assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [(topic, "0", "2", "5", "3"), (topic, "1", "3", "5", "2")]
        assert all(r[6].startswith("interop-client-") and r[7] == "/127.0.0.1" and r[8] == "interop-client" for r in rows)
        # Lag grows after producing more.
        produce(gbroker, topic, 4, 2)
        r = rk(gbroker, "consumer-groups", "--describe", "--group", group, "--output", "json")
        lags = {p["partition"]: p["lag"] for p in json.loads(r.stdout)[0]["partitions"]}
        assert lags == {0: 5, 1: 4}
        r = rk(gbroker, "consumer-groups", "--describe", "--group", group, "--members", "--verbose")
        assert f"{topic}(0,1)" in r.stdout
        r = rk(gbroker, "consumer-groups", "--describe", "--group", group, "--state")
        assert re.search(rf"{group}\s+127\.0\.0\.1:\d+  \(1\)\s+range\s+Stable\s+1", r.stdout), r.stdout
        r = rk(gbroker, "consumer-groups", "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
        assert r.returncode == 1
        assert f"Assignments can only be reset if the group '{group}' is inactive, but the current state is Stable." in r.stderr
        r = rk(gbroker, "consumer-groups", "--delete", "--group", group)
        assert r.returncode == 1 and "GroupNotEmptyException" in r.stderr
    finally:
        c.close()
    r = rk(gbroker, "consumer-groups", "--list", "--state", "Empty")
    assert re.search(rf"^{group}\s+Empty", r.stdout, re.M), r.stdout


def test_every_reset_scenario(gbroker):
    topic, group = unique("rs"), unique("g")
    create_topic(admin(gbroker.bootstrap), topic, partitions=2)
    t0 = int(time.time() * 1000)
    produce(gbroker, topic, 20, 2)
    c = active_consumer(gbroker, group, topic, 2)
    c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False)
    c.close()

    def reset(*scenario, execute=True):
        args = ["consumer-groups", "--reset-offsets", "--group", group, "--topic", topic, *scenario]
        r = rk(gbroker, *args, "--execute" if execute else "--dry-run")
        assert r.returncode == 0, r.stderr
        return r

    r = reset("--to-earliest", execute=False)
    assert re.search(rf"{group}\s+{topic}\s+0\s+0", r.stdout)
    assert committed(gbroker, group, topic, 2) == {0: 4, 1: 6}, "dry run changes nothing"
    reset("--to-earliest")
    assert committed(gbroker, group, topic, 2) == {0: 0, 1: 0}
    reset("--to-latest")
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: 10}
    reset("--shift-by", "-3")
    assert committed(gbroker, group, topic, 2) == {0: 7, 1: 7}
    reset("--to-offset", "99")
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: 10}, "clamped to the log end"
    reset("--to-current")
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: 10}
    reset("--to-datetime", time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(t0 / 1000 - 60)))
    assert committed(gbroker, group, topic, 2) == {0: 0, 1: 0}
    reset("--by-duration", "PT0.001S")
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: 10}
    r = rk(gbroker, "consumer-groups", "--reset-offsets", "--group", group, "--topic", f"{topic}:1", "--to-offset", "3", "--export", "--dry-run")
    assert r.stdout.strip() == f"{topic},1,3"
    tmp = f"/tmp/{group}.csv"
    with open(tmp, "w") as f:
        f.write(r.stdout)
    r = rk(gbroker, "consumer-groups", "--reset-offsets", "--group", group, "--from-file", tmp, "--execute")
    assert r.returncode == 0, r.stderr
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: 3}
    r = rk(gbroker, "consumer-groups", "--delete-offsets", "--group", group, "--topic", f"{topic}:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Request succeed for deleting offsets with topic {topic} group {group}")
    assert re.search(rf"{topic}\s+1\s+Successful", r.stdout)
    assert committed(gbroker, group, topic, 2) == {0: 10, 1: -1001}
    r = rk(gbroker, "consumer-groups", "--delete", "--group", group)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Deletion of requested consumer groups ('{group}') was successful."
    r = rk(gbroker, "consumer-groups", "--describe", "--group", group)
    assert r.returncode == 1 and f"Consumer group '{group}' does not exist." in r.stderr


def test_leader_election_three_ways(gbroker, tmp_path):
    topic = unique("le")
    create_topic(admin(gbroker.bootstrap), topic, partitions=2)
    r = rk(gbroker, "leader-election", "--election-type", "preferred", "--topic", topic, "--partition", "1")
    assert (r.returncode, r.stdout) == (0, f"Valid replica already elected for partitions {topic}-1\n")
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]}))
    r = rk(gbroker, "leader-election", "--election-type", "unclean", "--path-to-json-file", str(f))
    assert (r.returncode, r.stdout) == (0, f"Valid replica already elected for partitions {topic}-0, {topic}-1\n")
    # --all-topic-partitions asks for every partition (null): like Kafka's controller, the
    # broker leaves out those whose leader is already the right one, so nothing is printed.
    r = rk(gbroker, "leader-election", "--election-type", "preferred", "--all-topic-partitions")
    assert r.returncode == 0 and topic not in r.stdout, r.stdout
    r = rk(gbroker, "leader-election", "--election-type", "preferred", "--topic", topic, "--partition", "7")
    assert r.returncode == 1
    assert r.stdout.startswith(f"Error completing leader election (PREFERRED) for partition: {topic}-7: ")
    assert "1 replica(s) could not be elected" in r.stderr
