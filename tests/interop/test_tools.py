"""rk's own tools interoperate with a real client: what `rk console-producer` writes,
confluent-kafka (librdkafka) reads back exactly, and what confluent-kafka produces,
`rk console-consumer` prints exactly. Keyed records land where librdkafka's
murmur2_random partitioner (the Java client's) puts them."""

from __future__ import annotations

import subprocess

import pytest

from confluent_kafka import Producer, TopicPartition

from conftest import rk_bin, unique
from util import admin, consume_from, create_topic


def rk(broker, *args, stdin: str | None = None, timeout=60):
    return subprocess.run(
        [rk_bin(), *args, "--bootstrap-server", broker.bootstrap],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_rk_console_producer_to_confluent_consumer(broker):
    topic = unique("tools-p")
    create_topic(admin(broker.bootstrap), topic, partitions=1)
    lines = "h1:a\tk1\tv1\n\tk2\tNULL\nh2:b,h3:c\tk3\tv3\n"
    r = rk(broker, "console-producer", "--topic", topic, "--timeout", "10",
           "--property", "parse.key=true", "--property", "parse.headers=true",
           "--property", "null.marker=NULL", "--compression-codec", "lz4", stdin=lines)
    assert r.returncode == 0, r.stderr
    msgs = consume_from(broker.bootstrap, [TopicPartition(topic, 0, 0)], 3)
    got = [(m.key(), m.value(), m.headers() or []) for m in msgs]
    assert got == [
        (b"k1", b"v1", [("h1", b"a")]),
        (b"k2", None, []),
        (b"k3", b"v3", [("h2", b"b"), ("h3", b"c")]),
    ]
    assert [m.offset() for m in msgs] == [0, 1, 2]


def test_confluent_producer_to_rk_console_consumer(broker):
    topic = unique("tools-c")
    create_topic(admin(broker.bootstrap), topic, partitions=1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "zstd"})
    p.produce(topic, key=b"a", value=b"first", headers=[("x", b"1")], partition=0)
    p.produce(topic, key=None, value=b"second", partition=0)
    p.produce(topic, key=b"c", value=None, partition=0)
    assert p.flush(10) == 0
    r = rk(broker, "console-consumer", "--topic", topic, "--partition", "0", "--offset", "earliest",
           "--exit-at-end", "--property", "print.key=true", "--property", "print.headers=true")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x:1\ta\tfirst\nNO_HEADERS\tnull\tsecond\nNO_HEADERS\tc\tnull\n"
    assert "Processed a total of 3 messages" in r.stderr


def test_keyed_partitioning_matches_librdkafka_murmur2(broker):
    topic = unique("tools-k")
    create_topic(admin(broker.bootstrap), topic, partitions=6)
    keys = [f"user-{i}" for i in range(40)]
    p = Producer({"bootstrap.servers": broker.bootstrap, "partitioner": "murmur2_random"})
    delivered = {}

    def on_delivery(err, msg):
        assert err is None, err
        delivered[msg.key().decode()] = msg.partition()

    for k in keys:
        p.produce(topic, key=k.encode(), value=b"librdkafka", on_delivery=on_delivery)
    assert p.flush(10) == 0
    r = rk(broker, "console-producer", "--topic", topic, "--timeout", "10", "--property", "parse.key=true",
           stdin="".join(f"{k}\trk\n" for k in keys))
    assert r.returncode == 0, r.stderr
    r = rk(broker, "console-consumer", "--topic", topic, "--from-beginning", "--max-messages", str(2 * len(keys)),
           "--format", "%k %v %p\\n", "--timeout-ms", "20000")
    rk_parts = {}
    for line in r.stdout.splitlines():
        k, who, part = line.split(" ")
        if who == "rk":
            rk_parts[k] = int(part)
    assert rk_parts == delivered


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_two_rk_consumers_split_a_group(broker_factory, strategy):
    """Two rk console-consumers in one group (rk's own assignors, including the
    incremental cooperative-sticky protocol) split the partitions and read every record
    exactly once."""
    import time

    b = broker_factory({"group.initial.rebalance.delay.ms": "0"})
    topic, group = unique("split"), unique("g")
    create_topic(admin(b.bootstrap), topic, partitions=4)

    def start():
        return subprocess.Popen([rk_bin(), "console-consumer", "--bootstrap-server", b.bootstrap, "--topic", topic,
                                 "--group", group, "--timeout-ms", "9000", "--format", "%p %o\\n",
                                 "--consumer-property", f"partition.assignment.strategy={strategy}",
                                 "--consumer-property", "heartbeat.interval.ms=300"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start()]
    try:
        time.sleep(1.0)
        procs.append(start())
        time.sleep(4.0)  # both joined and the (possibly two-step) rebalance settled
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(200):
            p.produce(topic, value=f"v{i}".encode(), partition=i % 4)
        assert p.flush(10) == 0
        outs = [pr.communicate(timeout=60)[0] for pr in procs]
        assert all(pr.returncode == 0 for pr in procs)
    finally:
        for pr in procs:
            pr.kill()
    seen = [[tuple(map(int, line.split())) for line in o.splitlines()] for o in outs]
    assert all(seen), f"both consumers got partitions: {[len(x) for x in seen]}"
    assert sorted(seen[0] + seen[1]) == sorted((i % 4, i // 4) for i in range(200)), "every record exactly once"
