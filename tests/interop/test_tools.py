"""rk's own tools interoperate with a real client: what `rk console-producer` writes,
confluent-kafka (librdkafka) reads back exactly, and what confluent-kafka produces,
`rk console-consumer` prints exactly. Keyed records land where librdkafka's
murmur2_random partitioner (the Java client's) puts them."""

from __future__ import annotations

import subprocess

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
