"""confluent-kafka (librdkafka) against rk: admin APIs, produce/consume with every codec,
acks levels, list offsets, delete records, restart and crash recovery, retention."""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    KafkaError,
    TopicPartition,
)
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

from conftest import unique
from util import (
    watermarks,
    TIMEOUT,
    admin,
    consume_exact,
    consume_from,
    consumer,
    create_topic,
    error_code,
    kafka_error_name,
    produce_all,
    producer,
    result,
    topic_configs,
    wait_until,
)


def source(entry) -> ConfigSource:
    return ConfigSource(entry.source)


def assert_error(future, expected):
    code = error_code(future)
    assert code == expected, f"expected {kafka_error_name(expected)}, got {kafka_error_name(code)}"


def list_offset(adm, tp: TopicPartition, spec):
    return result(adm.list_offsets({tp: spec}, request_timeout=TIMEOUT)[tp])


# ======================================================================= admin: topics


def test_create_topic_with_configs(broker):
    adm = admin(broker.bootstrap)
    name = unique("cfg")
    create_topic(adm, name, partitions=3, config={"retention.ms": "3600000", "cleanup.policy": "compact"})

    md = adm.list_topics(timeout=TIMEOUT)
    assert name in md.topics
    parts = md.topics[name].partitions
    assert sorted(parts) == [0, 1, 2]
    for p in parts.values():
        assert p.leader == 1
        assert p.replicas == [1]
        assert p.isrs == [1]

    cfg = topic_configs(adm, name)
    assert cfg["retention.ms"].value == "3600000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not cfg["retention.ms"].is_default
    assert cfg["cleanup.policy"].value == "compact"
    assert source(cfg["cleanup.policy"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    # Not overridden: Kafka's default, reported as such.
    assert cfg["segment.bytes"].value == "1073741824"
    assert source(cfg["segment.bytes"]) == ConfigSource.DEFAULT_CONFIG
    assert cfg["segment.bytes"].is_default
    assert cfg["max.message.bytes"].value == "1048588"
    assert source(cfg["max.message.bytes"]) == ConfigSource.DEFAULT_CONFIG


def test_create_duplicate_topic(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("dup"), partitions=2)
    futs = adm.create_topics([NewTopic(name, num_partitions=4, replication_factor=1)], request_timeout=TIMEOUT)
    assert_error(futs[name], KafkaError.TOPIC_ALREADY_EXISTS)
    # The original topic is untouched.
    assert len(adm.list_topics(name, timeout=TIMEOUT).topics[name].partitions) == 2


@pytest.mark.parametrize(
    "config",
    [
        {"retention.ms": "not-a-number"},
        {"cleanup.policy": "bogus"},
        {"segment.bytes": "1"},  # below the minimum (14)
        {"no.such.topic.config": "1"},
    ],
    ids=["bad-long", "bad-enum", "below-min", "unknown-key"],
)
def test_create_topic_invalid_config(broker, config):
    adm = admin(broker.bootstrap)
    name = unique("badcfg")
    futs = adm.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)], request_timeout=TIMEOUT)
    assert_error(futs[name], KafkaError.INVALID_CONFIG)
    assert name not in adm.list_topics(timeout=TIMEOUT).topics


def test_create_topic_invalid_partitions_and_replication(broker):
    adm = admin(broker.bootstrap)
    t1, t2 = unique("rf"), unique("np")
    futs = adm.create_topics([NewTopic(t1, num_partitions=1, replication_factor=3)], request_timeout=TIMEOUT)
    assert_error(futs[t1], KafkaError.INVALID_REPLICATION_FACTOR)
    futs = adm.create_topics([NewTopic(t2, num_partitions=0, replication_factor=1)], request_timeout=TIMEOUT)
    assert_error(futs[t2], KafkaError.INVALID_PARTITIONS)
    topics = adm.list_topics(timeout=TIMEOUT).topics
    assert t1 not in topics and t2 not in topics


def test_create_topic_validate_only(broker):
    adm = admin(broker.bootstrap)
    name = unique("vo")
    futs = adm.create_topics(
        [NewTopic(name, num_partitions=3, replication_factor=1, config={"retention.ms": "1000"})],
        validate_only=True,
        request_timeout=TIMEOUT,
    )
    assert result(futs[name]) is None
    assert name not in adm.list_topics(timeout=TIMEOUT).topics
    # validate_only still validates.
    futs = adm.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1, config={"retention.ms": "x"})],
        validate_only=True,
        request_timeout=TIMEOUT,
    )
    assert_error(futs[name], KafkaError.INVALID_CONFIG)
    # And the name is still free afterwards.
    create_topic(adm, name, partitions=1)


def test_create_topic_replica_assignment(broker):
    adm = admin(broker.bootstrap)
    name = unique("ra")
    futs = adm.create_topics([NewTopic(name, num_partitions=4, replication_factor=-1, replica_assignment=[[1], [1], [1], [1]])], request_timeout=TIMEOUT)
    result(futs[name])
    parts = adm.list_topics(name, timeout=TIMEOUT).topics[name].partitions
    assert sorted(parts) == [0, 1, 2, 3]
    assert all(p.replicas == [1] and p.leader == 1 for p in parts.values())

    # A broker that does not exist cannot be assigned.
    bad = unique("ra-bad")
    futs = adm.create_topics([NewTopic(bad, num_partitions=2, replication_factor=-1, replica_assignment=[[1], [2]])], request_timeout=TIMEOUT)
    assert_error(futs[bad], KafkaError.INVALID_REPLICA_ASSIGNMENT)
    assert bad not in adm.list_topics(timeout=TIMEOUT).topics


def test_delete_topics(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("del"), partitions=2)
    p = producer(broker.bootstrap)
    produce_all(p, [{"topic": name, "value": b"v%d" % i, "partition": i % 2} for i in range(10)])

    result(adm.delete_topics([name], operation_timeout=10, request_timeout=TIMEOUT)[name])
    assert name not in adm.list_topics(timeout=TIMEOUT).topics
    md = adm.list_topics(name, timeout=TIMEOUT)
    # Asking for it explicitly auto-creates it again (auto.create.topics.enable=true), but it must be empty.
    if name in md.topics and md.topics[name].error is None:
        c = consumer(broker.bootstrap)
        try:
            for part in md.topics[name].partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(name, part), timeout=TIMEOUT, cached=False)
                assert (lo, hi) == (0, 0), f"partition {part} of a deleted+recreated topic not empty: {(lo, hi)}"
        finally:
            c.close()

    missing = unique("never")
    assert_error(
        adm.delete_topics([missing], request_timeout=TIMEOUT)[missing],
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    )


def test_delete_and_recreate_is_empty(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("recreate"), partitions=1)
    produce_all(producer(broker.bootstrap), [{"topic": name, "value": b"old-%d" % i, "partition": 0} for i in range(5)])
    result(adm.delete_topics([name], request_timeout=TIMEOUT)[name])
    wait_until(lambda: name not in adm.list_topics(timeout=TIMEOUT).topics, 5, message="topic gone")
    create_topic(adm, name, partitions=1)
    msgs = produce_all(producer(broker.bootstrap), [{"topic": name, "value": b"new", "partition": 0}])
    assert msgs[0].offset() == 0
    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], 1)
    assert [m.value() for m in got] == [b"new"]


# ======================================================================= admin: configs


def test_describe_configs_broker_default_synonym(broker_factory):
    """A topic config that is not set on the topic takes the broker's static value."""
    b = broker_factory({"log.retention.ms": "7200000", "log.segment.bytes": "2097152"})
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("syn"), config={"segment.bytes": "1048576"})
    cfg = topic_configs(adm, name)
    assert cfg["retention.ms"].value == "7200000"
    assert source(cfg["retention.ms"]) == ConfigSource.STATIC_BROKER_CONFIG
    assert cfg["segment.bytes"].value == "1048576"
    assert source(cfg["segment.bytes"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert cfg["cleanup.policy"].value == "delete"
    assert source(cfg["cleanup.policy"]) == ConfigSource.DEFAULT_CONFIG


def test_describe_configs_unknown_topic(broker):
    adm = admin(broker.bootstrap)
    res = ConfigResource(ConfigResource.Type.TOPIC, unique("nope"))
    assert_error(adm.describe_configs([res], request_timeout=TIMEOUT)[res], KafkaError.UNKNOWN_TOPIC_OR_PART)


def test_alter_configs_replaces_whole_set(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("alter"), config={"cleanup.policy": "compact", "retention.ms": "100000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"retention.ms": "200000", "max.message.bytes": "65536"})
    result(adm.alter_configs([res], request_timeout=TIMEOUT)[res])
    cfg = topic_configs(adm, name)
    assert cfg["retention.ms"].value == "200000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert cfg["max.message.bytes"].value == "65536"
    # Non-incremental AlterConfigs replaces the set: cleanup.policy falls back to the default.
    assert cfg["cleanup.policy"].value == "delete"
    assert source(cfg["cleanup.policy"]) == ConfigSource.DEFAULT_CONFIG

    bad = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"retention.ms": "soon"})
    assert_error(adm.alter_configs([bad], request_timeout=TIMEOUT)[bad], KafkaError.INVALID_CONFIG)
    assert topic_configs(adm, name)["retention.ms"].value == "200000"

    only_validate = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"retention.ms": "300000"})
    result(adm.alter_configs([only_validate], validate_only=True, request_timeout=TIMEOUT)[only_validate])
    assert topic_configs(adm, name)["retention.ms"].value == "200000"


def test_incremental_alter_configs(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("incr"), config={"cleanup.policy": "delete", "retention.ms": "100000", "segment.ms": "3600000"})

    def incr(*entries):
        res = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=list(entries))
        return adm.incremental_alter_configs([res], request_timeout=TIMEOUT)[res]

    result(
        incr(
            ConfigEntry("retention.ms", "5000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("segment.ms", None, incremental_operation=AlterConfigOpType.DELETE),
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        )
    )
    cfg = topic_configs(adm, name)
    assert cfg["retention.ms"].value == "5000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert cfg["segment.ms"].value == "604800000"
    assert source(cfg["segment.ms"]) == ConfigSource.DEFAULT_CONFIG
    assert sorted(cfg["cleanup.policy"].value.split(",")) == ["compact", "delete"]

    result(incr(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT)))
    assert topic_configs(adm, name)["cleanup.policy"].value == "compact"

    # Incremental: other overrides stay.
    result(incr(ConfigEntry("max.message.bytes", "12345", incremental_operation=AlterConfigOpType.SET)))
    cfg = topic_configs(adm, name)
    assert cfg["max.message.bytes"].value == "12345"
    assert cfg["retention.ms"].value == "5000"

    assert_error(
        incr(ConfigEntry("retention.ms", "-5", incremental_operation=AlterConfigOpType.SET)),
        KafkaError.INVALID_CONFIG,
    )
    assert topic_configs(adm, name)["retention.ms"].value == "5000"


# ======================================================================= admin: partitions / cluster


def test_create_partitions(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("cp"), partitions=2)
    result(adm.create_partitions([NewPartitions(name, 5)], request_timeout=TIMEOUT)[name])
    parts = adm.list_topics(name, timeout=TIMEOUT).topics[name].partitions
    assert sorted(parts) == [0, 1, 2, 3, 4]
    assert all(p.leader == 1 for p in parts.values())

    # The new partitions are writable and readable.
    msgs = produce_all(producer(broker.bootstrap), [{"topic": name, "value": b"p4", "partition": 4}])
    assert (msgs[0].partition(), msgs[0].offset()) == (4, 0)
    got = consume_from(broker.bootstrap, [TopicPartition(name, 4, OFFSET_BEGINNING)], 1)
    assert got[0].value() == b"p4"

    assert_error(adm.create_partitions([NewPartitions(name, 3)], request_timeout=TIMEOUT)[name], KafkaError.INVALID_PARTITIONS)
    assert_error(adm.create_partitions([NewPartitions(name, 5)], request_timeout=TIMEOUT)[name], KafkaError.INVALID_PARTITIONS)
    missing = unique("cp-missing")
    assert_error(
        adm.create_partitions([NewPartitions(missing, 3)], request_timeout=TIMEOUT)[missing],
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    )
    # validate_only does not change anything.
    result(adm.create_partitions([NewPartitions(name, 8)], validate_only=True, request_timeout=TIMEOUT)[name])
    assert len(adm.list_topics(name, timeout=TIMEOUT).topics[name].partitions) == 5


def test_describe_cluster(broker):
    adm = admin(broker.bootstrap)
    desc = result(adm.describe_cluster(request_timeout=TIMEOUT))
    assert desc.cluster_id
    assert desc.cluster_id == adm.list_topics(timeout=TIMEOUT).cluster_id
    assert [n.id for n in desc.nodes] == [1]
    assert desc.nodes[0].host == "127.0.0.1"
    assert desc.nodes[0].port == broker.port
    assert desc.controller is not None and desc.controller.id == 1

    md = adm.list_topics(timeout=TIMEOUT)
    assert md.controller_id == 1
    assert list(md.brokers) == [1]
    assert (md.brokers[1].host, md.brokers[1].port) == ("127.0.0.1", broker.port)


# ======================================================================= delete records / list offsets


def test_delete_records(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("dr"), partitions=2)
    produce_all(producer(broker.bootstrap), [{"topic": name, "value": b"v%d" % i, "partition": 0} for i in range(10)]
                + [{"topic": name, "value": b"w%d" % i, "partition": 1} for i in range(3)])
    tp0, tp1 = TopicPartition(name, 0, 4), TopicPartition(name, 1, OFFSET_END)
    res = adm.delete_records([tp0, tp1], request_timeout=TIMEOUT)
    deleted = {tp.partition: result(f).low_watermark for tp, f in res.items()}
    assert deleted == {0: 4, 1: 3}

    assert list_offset(adm, TopicPartition(name, 0), OffsetSpec.earliest()).offset == 4
    assert list_offset(adm, TopicPartition(name, 0), OffsetSpec.latest()).offset == 10
    assert list_offset(adm, TopicPartition(name, 1), OffsetSpec.earliest()).offset == 3

    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], 6)
    assert [(m.offset(), m.value()) for m in got] == [(i, b"v%d" % i) for i in range(4, 10)]

    # Beyond the high watermark -> OFFSET_OUT_OF_RANGE; the low watermark stays.
    bad = TopicPartition(name, 0, 11)
    assert_error(adm.delete_records([bad], request_timeout=TIMEOUT)[bad], KafkaError.OFFSET_OUT_OF_RANGE)
    assert list_offset(adm, TopicPartition(name, 0), OffsetSpec.earliest()).offset == 4
    # Moving it backwards is a no-op that reports the current low watermark.
    back = TopicPartition(name, 0, 2)
    assert result(adm.delete_records([back], request_timeout=TIMEOUT)[back]).low_watermark == 4

    # Fetching below the log start offset is out of range: auto.offset.reset=earliest lands on 4.
    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, 1)], 6)
    assert got[0].offset() == 4


def test_list_offsets(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("lo"), partitions=1)
    tp = TopicPartition(name, 0)
    base = int(time.time() * 1000) - 60_000
    # Offsets 0..5; the max timestamp is at offset 3, not the last one.
    stamps = [base, base + 1000, base + 2000, base + 9000, base + 3000, base + 4000]
    produce_all(producer(broker.bootstrap, **{"linger.ms": 0}),
                [{"topic": name, "value": b"%d" % i, "partition": 0, "timestamp": ts} for i, ts in enumerate(stamps)])

    assert list_offset(adm, tp, OffsetSpec.earliest()).offset == 0
    assert list_offset(adm, tp, OffsetSpec.latest()).offset == 6
    r = list_offset(adm, tp, OffsetSpec.for_timestamp(base + 1500))
    assert (r.offset, r.timestamp) == (2, base + 2000)
    r = list_offset(adm, tp, OffsetSpec.for_timestamp(base))
    assert (r.offset, r.timestamp) == (0, base)
    r = list_offset(adm, tp, OffsetSpec.for_timestamp(base - 100_000))
    assert r.offset == 0
    # Later than every record: offset -1 (Kafka answers -1/-1 for "no such record").
    r = list_offset(adm, tp, OffsetSpec.for_timestamp(base + 100_000))
    assert r.offset == -1
    r = list_offset(adm, tp, OffsetSpec.max_timestamp())
    assert (r.offset, r.timestamp) == (3, base + 9000)

    # The consumer API agrees.
    c = consumer(broker.bootstrap)
    try:
        [o] = c.offsets_for_times([TopicPartition(name, 0, base + 3500)], timeout=TIMEOUT)
        assert o.offset == 3  # first offset with timestamp >= base+3500 is offset 3 (base+9000)
        assert c.get_watermark_offsets(tp, timeout=TIMEOUT, cached=False) == (0, 6)
    finally:
        c.close()


def test_list_offsets_empty_partition(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("lo-empty"), partitions=1)
    tp = TopicPartition(name, 0)
    assert list_offset(adm, tp, OffsetSpec.earliest()).offset == 0
    assert list_offset(adm, tp, OffsetSpec.latest()).offset == 0
    assert list_offset(adm, tp, OffsetSpec.for_timestamp(0)).offset == -1
    assert list_offset(adm, tp, OffsetSpec.max_timestamp()).offset == -1


# ======================================================================= produce / consume


CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def keyed_records(topic, partitions, n, ts_base):
    records = []
    for i in range(n):
        records.append(
            {
                "topic": topic,
                "partition": i % partitions,
                "key": b"key-%04d" % i,
                "value": (b"value-%04d " % i) + b"x" * (i * 7 % 300),
                "headers": [("h1", b"a%d" % i), ("dup", b"1"), ("dup", b"2"), ("empty", b""), ("null", None)],
                "timestamp": ts_base + i,
            }
        )
    return records


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_codec(broker, codec):
    adm = admin(broker.bootstrap)
    partitions = 3
    name = create_topic(adm, unique(f"codec-{codec}"), partitions=partitions)
    ts_base = int(time.time() * 1000) - 10_000
    records = keyed_records(name, partitions, 90, ts_base)
    p = producer(broker.bootstrap, **{"compression.type": codec, "linger.ms": 20, "acks": "all"})
    delivered = produce_all(p, records)

    # Delivery reports: offsets per partition are 0..n-1 in produce order.
    per_part = {}
    for r, m in zip(records, delivered):
        assert m.partition() == r["partition"]
        assert m.offset() == per_part.get(r["partition"], 0), (r["key"], m.offset())
        per_part[r["partition"]] = m.offset() + 1
    assert per_part == {0: 30, 1: 30, 2: 30}

    got = consume_from(broker.bootstrap, [TopicPartition(name, i, OFFSET_BEGINNING) for i in range(partitions)], len(records))
    by_key = {m.key(): m for m in got}
    assert len(by_key) == len(records)
    for r, d in zip(records, delivered):
        m = by_key[r["key"]]
        assert m.topic() == name
        assert m.partition() == r["partition"]
        assert m.offset() == d.offset()
        assert m.value() == r["value"]
        assert m.headers() == r["headers"]
        assert m.timestamp() == (TIMESTAMP_CREATE_TIME, r["timestamp"])
    # Within a partition, offsets come in order without gaps.
    for part in range(partitions):
        offs = [m.offset() for m in got if m.partition() == part]
        assert offs == list(range(30))


def test_null_keys_and_values(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("nulls"), partitions=1)
    records = [
        {"topic": name, "partition": 0, "key": b"k1", "value": b"v1"},
        {"topic": name, "partition": 0, "key": b"k1", "value": None},  # tombstone
        {"topic": name, "partition": 0, "key": None, "value": b"no-key"},
        {"topic": name, "partition": 0, "key": None, "value": None},
        {"topic": name, "partition": 0, "key": b"k2", "value": b""},
    ]
    produce_all(producer(broker.bootstrap, **{"compression.type": "lz4"}), records)
    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], len(records))
    assert [(m.offset(), m.key(), m.value()) for m in got] == [
        (0, b"k1", b"v1"),
        (1, b"k1", None),
        (2, None, b"no-key"),
        (3, None, None),
        (4, b"k2", b""),
    ]


def test_compacted_topic_rejects_null_keys(broker):
    """Kafka rejects a batch holding a record without a key on a compacted topic with
    INVALID_RECORD (87); keyed records and keyed tombstones are fine."""
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("compact-nokey"), partitions=1, config={"cleanup.policy": "compact"})
    p = producer(broker.bootstrap, **{"retries": 0, "linger.ms": 0, "message.timeout.ms": 5000})
    errors = []
    p.produce(name, key=None, value=b"no-key", partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(10) == 0
    assert errors and errors[0] is not None and errors[0].code() == KafkaError.INVALID_RECORD, errors
    ok = produce_all(p, [
        {"topic": name, "partition": 0, "key": b"k", "value": b"v"},
        {"topic": name, "partition": 0, "key": b"k", "value": None},
    ])
    assert [m.offset() for m in ok] == [0, 1]
    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], 2)
    assert [(m.key(), m.value()) for m in got] == [(b"k", b"v"), (b"k", None)]


def test_large_messages_and_default_partitioner(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("big"), partitions=4)
    big = bytes(range(256)) * 2000  # 512000 bytes, incompressible-ish
    records = [{"topic": name, "key": b"k%d" % i, "value": big[i:] + b"%d" % i} for i in range(12)]
    delivered = produce_all(producer(broker.bootstrap, **{"compression.type": "zstd"}), records)
    # Same key -> same partition: produce them again and check the partitioner is stable.
    again = produce_all(producer(broker.bootstrap), [{"topic": name, "key": r["key"], "value": b"again"} for r in records])
    for d, a in zip(delivered, again):
        assert d.partition() == a.partition()
    got = consume_from(
        broker.bootstrap,
        [TopicPartition(name, i, OFFSET_BEGINNING) for i in range(4)],
        len(records) * 2,
        **{"fetch.max.bytes": 1048576, "max.partition.fetch.bytes": 600000},
    )
    vals = {(m.partition(), m.offset()): m.value() for m in got}
    for r, d in zip(records, delivered):
        assert vals[(d.partition(), d.offset())] == r["value"]


def test_consume_from_timestamp(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("ts"), partitions=2)
    base = int(time.time() * 1000) - 100_000
    records = [{"topic": name, "partition": i % 2, "value": b"m%d" % i, "timestamp": base + i * 1000} for i in range(20)]
    produce_all(producer(broker.bootstrap), records)
    c = consumer(broker.bootstrap)
    try:
        target = base + 10_500  # first record at/after: i=11 -> partition 1 offset 5; partition 0: i=12 -> offset 6
        offs = c.offsets_for_times([TopicPartition(name, 0, target), TopicPartition(name, 1, target)], timeout=TIMEOUT)
        assert [(o.partition, o.offset) for o in offs] == [(0, 6), (1, 5)]
        c.assign(offs)
        got = consume_exact(c, 4 + 5)
    finally:
        c.close()
    assert sorted(m.value() for m in got) == sorted(b"m%d" % i for i in range(11, 20))
    assert min(m.timestamp()[1] for m in got) == base + 11_000


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks_levels(broker, acks):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique(f"acks{acks}"), partitions=2)
    n = 200
    p = producer(broker.bootstrap, **{"acks": acks, "linger.ms": 2})
    delivered = produce_all(p, [{"topic": name, "partition": i % 2, "key": b"%d" % i, "value": b"v%d" % i} for i in range(n)])
    if acks != "0":
        assert sorted(m.offset() for m in delivered if m.partition() == 0) == list(range(n // 2))
    c = consumer(broker.bootstrap)
    try:
        # acks=0 gives no confirmation: wait (bounded) for the broker to have them all.
        wait_until(
            lambda: sum(c.get_watermark_offsets(TopicPartition(name, i), timeout=TIMEOUT, cached=False)[1] for i in range(2)) == n,
            10,
            message=f"{n} records with acks={acks}",
        )
        c.assign([TopicPartition(name, i, OFFSET_BEGINNING) for i in range(2)])
        got = consume_exact(c, n)
    finally:
        c.close()
    assert sorted(int(m.key()) for m in got) == list(range(n))
    for m in got:
        assert m.value() == b"v" + m.key()
        assert m.partition() == int(m.key()) % 2
        assert m.offset() == int(m.key()) // 2


def test_auto_create_on_metadata(broker):
    name = unique("auto")
    msgs = produce_all(producer(broker.bootstrap), [{"topic": name, "value": b"hello"}])
    assert msgs[0].offset() == 0
    md = admin(broker.bootstrap).list_topics(name, timeout=TIMEOUT)
    assert md.topics[name].error is None
    assert len(md.topics[name].partitions) == 1


def test_long_poll_fetch_wakes_on_produce(broker):
    """A consumer waiting at the end of the log gets a new record promptly (fetch long poll)."""
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("lp"), partitions=1)
    c = consumer(broker.bootstrap, **{"fetch.wait.max.ms": 5000})
    try:
        c.assign([TopicPartition(name, 0, OFFSET_END)])
        assert [m for m in c.consume(10, timeout=1.0) if not m.error()] == []
        p = producer(broker.bootstrap, **{"linger.ms": 0})
        sent_at = time.monotonic()
        produce_all(p, [{"topic": name, "partition": 0, "value": b"ping"}])
        got = consume_exact(c, 1, timeout=10)
        latency = time.monotonic() - sent_at
    finally:
        c.close()
    assert got[0].value() == b"ping"
    assert latency < 3.0, f"long-poll fetch did not wake on produce ({latency:.2f}s)"


# ======================================================================= restart / crash


def test_restart_keeps_records_and_configs(fresh_broker):
    b = fresh_broker
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("restart"), partitions=2, config={"retention.ms": "123456789", "max.message.bytes": "200000"})
    gone = create_topic(adm, unique("gone"), partitions=1)
    records = [{"topic": name, "partition": i % 2, "key": b"k%d" % i, "value": b"v%d" % i, "headers": [("i", b"%d" % i)]} for i in range(100)]
    produce_all(producer(b.bootstrap, **{"compression.type": "gzip"}), records)
    result(adm.create_partitions([NewPartitions(name, 3)], request_timeout=TIMEOUT)[name])
    res = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[ConfigEntry("segment.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
    result(adm.incremental_alter_configs([res], request_timeout=TIMEOUT)[res])
    dr = TopicPartition(name, 1, 10)
    assert result(adm.delete_records([dr], request_timeout=TIMEOUT)[dr]).low_watermark == 10
    result(adm.delete_topics([gone], request_timeout=TIMEOUT)[gone])
    cluster_id = adm.list_topics(timeout=TIMEOUT).cluster_id

    b.restart()
    adm = admin(b.bootstrap)
    md = adm.list_topics(timeout=TIMEOUT)
    assert md.cluster_id == cluster_id
    assert name in md.topics and gone not in md.topics
    assert sorted(md.topics[name].partitions) == [0, 1, 2]
    cfg = topic_configs(adm, name)
    assert cfg["retention.ms"].value == "123456789"
    assert cfg["max.message.bytes"].value == "200000"
    assert cfg["segment.ms"].value == "7200000"
    assert source(cfg["segment.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG

    assert list_offset(adm, TopicPartition(name, 1), OffsetSpec.earliest()).offset == 10
    got = consume_from(b.bootstrap, [TopicPartition(name, i, OFFSET_BEGINNING) for i in range(3)], 90)
    seen = sorted((m.partition(), m.offset(), m.key(), m.value(), tuple(m.headers())) for m in got)
    expected = sorted(
        (i % 2, i // 2, b"k%d" % i, b"v%d" % i, (("i", b"%d" % i),)) for i in range(100) if not (i % 2 == 1 and i // 2 < 10)
    )
    assert seen == expected

    more = produce_all(producer(b.bootstrap), [{"topic": name, "partition": p, "value": b"after"} for p in range(3)])
    assert [(m.partition(), m.offset()) for m in more] == [(0, 50), (1, 50), (2, 0)]


def test_crash_keeps_acknowledged_records(fresh_broker):
    b = fresh_broker
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("crash"), partitions=2, config={"segment.bytes": "4096"})
    records = [{"topic": name, "partition": i % 2, "key": b"k%d" % i, "value": b"value-%d" % i * 5} for i in range(300)]
    p = producer(b.bootstrap, **{"acks": "all", "compression.type": "snappy"})
    delivered = produce_all(p, records)
    del p

    b.crash_and_restart()
    adm = admin(b.bootstrap)
    md = adm.list_topics(timeout=TIMEOUT)
    assert name in md.topics
    assert sorted(md.topics[name].partitions) == [0, 1]
    assert topic_configs(adm, name)["segment.bytes"].value == "4096"

    got = consume_from(b.bootstrap, [TopicPartition(name, i, OFFSET_BEGINNING) for i in range(2)], len(records))
    seen = {(m.partition(), m.offset()): (m.key(), m.value()) for m in got}
    for r, d in zip(records, delivered):
        assert seen[(d.partition(), d.offset())] == (r["key"], r["value"])

    more = produce_all(producer(b.bootstrap), [{"topic": name, "partition": p, "value": b"after-crash"} for p in range(2)])
    assert [(m.partition(), m.offset()) for m in more] == [(0, 150), (1, 150)]
    got = consume_from(b.bootstrap, [TopicPartition(name, 0, 150), TopicPartition(name, 1, 150)], 2)
    assert sorted(m.value() for m in got) == [b"after-crash"] * 2

    # And a second crash right after keeps everything, too.
    b.crash_and_restart()
    got = consume_from(b.bootstrap, [TopicPartition(name, i, OFFSET_BEGINNING) for i in range(2)], len(records) + 2)
    assert len({(m.partition(), m.offset()) for m in got}) == len(records) + 2


def test_crash_with_unflushed_topic_creation(fresh_broker):
    """Topics created (and acknowledged) just before a crash survive it."""
    b = fresh_broker
    adm = admin(b.bootstrap)
    names = [unique("c") for _ in range(5)]
    futs = adm.create_topics([NewTopic(n, num_partitions=2, replication_factor=1, config={"retention.ms": "99999"}) for n in names], request_timeout=TIMEOUT)
    for n in names:
        result(futs[n])
    b.crash_and_restart()
    adm = admin(b.bootstrap)
    md = adm.list_topics(timeout=TIMEOUT)
    for n in names:
        assert n in md.topics
        assert len(md.topics[n].partitions) == 2
        assert topic_configs(adm, n)["retention.ms"].value == "99999"


# ======================================================================= retention


def test_retention_bytes_moves_log_start(broker_factory):
    b = broker_factory({"log.retention.check.interval.ms": "200"})
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("ret"), partitions=1, config={"segment.bytes": "1024", "retention.bytes": "2048"})
    tp = TopicPartition(name, 0)
    # One record per batch so segments roll often.
    p = producer(b.bootstrap, **{"linger.ms": 0, "batch.num.messages": 1})
    n = 200
    produce_all(p, [{"topic": name, "partition": 0, "key": b"%d" % i, "value": b"x" * 100} for i in range(n)])
    assert list_offset(adm, tp, OffsetSpec.latest()).offset == n

    start = wait_until(
        lambda: list_offset(adm, tp, OffsetSpec.earliest()).offset or None,
        10,
        interval=0.2,
        message="earliest offset to move forward under retention.bytes",
    )
    assert 0 < start < n
    # Eventually the retained size is close to retention.bytes: far fewer than 200 records remain.
    start = wait_until(
        lambda: (lambda o: o if o > n - 60 else None)(list_offset(adm, tp, OffsetSpec.earliest()).offset),
        10,
        interval=0.2,
        message="retention to delete down to ~retention.bytes",
    )
    # Consuming from the beginning starts at the new log start offset and ends at n.
    lo, hi = consumer(b.bootstrap).get_watermark_offsets(tp, timeout=TIMEOUT, cached=False)
    assert hi == n and lo >= start
    got = consume_from(b.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], n - lo)
    assert [m.offset() for m in got] == list(range(lo, n))
    assert [m.key() for m in got] == [b"%d" % i for i in range(lo, n)]


def test_retention_ms_deletes_old_segments(broker_factory):
    b = broker_factory({"log.retention.check.interval.ms": "200"})
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("retms"), partitions=1, config={"segment.bytes": "1024", "retention.ms": "60000"})
    tp = TopicPartition(name, 0)
    old = int(time.time() * 1000) - 3_600_000  # an hour old: past retention.ms
    p = producer(b.bootstrap, **{"linger.ms": 0, "batch.num.messages": 1})
    n = 60
    produce_all(p, [{"topic": name, "partition": 0, "value": b"y" * 100, "timestamp": old + i} for i in range(n)])
    start = wait_until(
        lambda: list_offset(adm, tp, OffsetSpec.earliest()).offset or None,
        10,
        interval=0.2,
        message="earliest offset to move forward under retention.ms",
    )
    assert start > n // 2, f"only {start} of {n} expired records deleted"
    assert list_offset(adm, tp, OffsetSpec.latest()).offset == n
    # New records after retention continue at n.
    more = produce_all(producer(b.bootstrap), [{"topic": name, "partition": 0, "value": b"fresh"}])
    assert more[0].offset() == n


# ======================================================================= broker-side validation


def test_invalid_topic_names(broker):
    adm = admin(broker.bootstrap)
    for name in ["bad name!", "a" * 250, ".", "..", "slash/topic"]:
        futs = adm.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)], request_timeout=TIMEOUT)
        assert_error(futs[name], KafkaError.TOPIC_EXCEPTION)  # INVALID_TOPIC_EXCEPTION (17)
    # 249 characters of [a-zA-Z0-9._-] is the longest legal name.
    create_topic(adm, "b" * 249)


def test_log_append_time_topic(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("lat"), config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    # Far in the past and far in the future: LogAppendTime topics overwrite and do not validate them.
    delivered = produce_all(producer(broker.bootstrap, **{"linger.ms": 0}), [
        {"topic": name, "partition": 0, "value": b"a", "timestamp": 1000},
        {"topic": name, "partition": 0, "value": b"b", "timestamp": before + 10 * 3_600_000},
    ])
    after = int(time.time() * 1000)
    for d in delivered:
        ttype, ts = d.timestamp()
        assert ttype == TIMESTAMP_LOG_APPEND_TIME
        assert before - 1000 <= ts <= after + 1000
    got = consume_from(broker.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], 2)
    for d, m in zip(delivered, got):
        assert m.timestamp() == d.timestamp()


def test_create_time_timestamp_validation(broker):
    """message.timestamp.after.max.ms (default 1h): a CreateTime record from the far future is rejected."""
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("fut"))
    p = producer(broker.bootstrap, **{"retries": 0, "message.timeout.ms": 5000})
    errors = []
    p.produce(name, value=b"future", partition=0, timestamp=int(time.time() * 1000) + 2 * 3_600_000,
              on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(10) == 0
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() == KafkaError.INVALID_TIMESTAMP, errors[0]
    # Nothing was appended.
    assert list_offset(adm, TopicPartition(name, 0), OffsetSpec.latest()).offset == 0


def test_max_message_bytes(broker):
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("mmb"), config={"max.message.bytes": "2000"})
    p = producer(broker.bootstrap, **{"retries": 0, "message.timeout.ms": 5000, "linger.ms": 0})
    errors = []
    p.produce(name, value=b"x" * 5000, partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(10) == 0
    assert errors and errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errors
    ok = produce_all(p, [{"topic": name, "partition": 0, "value": b"y" * 500}])
    assert ok[0].offset() == 0


def test_min_insync_replicas_acks_all(broker):
    """RF=1 with min.insync.replicas=2: Kafka rejects acks=all produce with NOT_ENOUGH_REPLICAS (19)
    (Partition.appendRecordsToLeader: inSyncSize < minIsr && requiredAcks == -1) and appends nothing;
    acks=1 is still accepted."""
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("misr"), config={"min.insync.replicas": "2"})
    p = producer(broker.bootstrap, **{"acks": "all", "retries": 0, "message.timeout.ms": 5000, "linger.ms": 0})
    errors = []
    p.produce(name, value=b"must-fail", partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(10) == 0
    assert len(errors) == 1
    assert errors[0] is not None and errors[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, (
        f"acks=all with ISR(1) < min.insync.replicas(2) should fail with NOT_ENOUGH_REPLICAS, got {errors[0]}"
    )
    ok = produce_all(producer(broker.bootstrap, **{"acks": "1"}), [{"topic": name, "partition": 0, "value": b"acks1"}])
    assert ok[0].offset() == 0


# ======================================================================= fetch sizes / segments


def test_fetch_returns_oversized_first_batch(broker):
    """KIP-74: a batch larger than max.partition.fetch.bytes/fetch.max.bytes is still returned
    when it is the first one, so the consumer makes progress."""
    adm = admin(broker.bootstrap)
    name = create_topic(adm, unique("kip74"))
    values = [bytes([i]) * 20000 for i in range(5)]
    produce_all(producer(broker.bootstrap, **{"linger.ms": 0}), [{"topic": name, "partition": 0, "value": v} for v in values])
    got = consume_from(
        broker.bootstrap,
        [TopicPartition(name, 0, OFFSET_BEGINNING)],
        5,
        **{"max.partition.fetch.bytes": 1000, "fetch.max.bytes": 1000, "message.max.bytes": 1000},
    )
    assert [m.value() for m in got] == values


def _check_random_reads(bootstrap, name, n, base, samples):
    c = consumer(bootstrap)
    try:
        for off in samples:
            c.assign([TopicPartition(name, 0, off)])
            ms = [m for m in c.consume(1, timeout=5) if not m.error()]
            assert ms, f"nothing at offset {off}"
            assert (ms[0].offset(), ms[0].value()[:6]) == (off, b"%06d" % off)
            [o] = c.offsets_for_times([TopicPartition(name, 0, base + off)], timeout=TIMEOUT)
            assert o.offset == off, f"offsets_for_times({base + off}) -> {o.offset}, want {off}"
    finally:
        c.close()


def test_many_segments_random_reads_survive_restart_and_crash(fresh_broker):
    b = fresh_broker
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("segs"), config={"segment.bytes": "4096", "index.interval.bytes": "100"})
    n = 1500
    base = int(time.time() * 1000) - 100_000
    produce_all(
        producer(b.bootstrap, **{"linger.ms": 0, "batch.num.messages": 3}),
        [{"topic": name, "partition": 0, "value": b"%06d" % i + b"p" * 50, "timestamp": base + i} for i in range(n)],
    )
    segments = [f for f in os.listdir(os.path.join(b.data_dir, f"{name}-0")) if f.endswith(".log")]
    assert len(segments) > 10, f"segment.bytes=4096 should have rolled many segments, got {segments}"
    rnd = random.Random(42)
    samples = [0, n - 1] + rnd.sample(range(n), 25)
    _check_random_reads(b.bootstrap, name, n, base, samples)
    b.restart()
    _check_random_reads(b.bootstrap, name, n, base, samples)
    b.crash_and_restart()
    _check_random_reads(b.bootstrap, name, n, base, samples)
    assert list_offset(admin(b.bootstrap), TopicPartition(name, 0), OffsetSpec.latest()).offset == n


# ======================================================================= more crash recovery


def test_crash_with_torn_tail_write(fresh_broker):
    """A partial batch at the end of the active segment (torn write) is truncated on recovery."""
    b = fresh_broker
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("torn"))
    produce_all(producer(b.bootstrap), [{"topic": name, "partition": 0, "value": b"v%d" % i} for i in range(10)])
    b.kill9()
    pdir = os.path.join(b.data_dir, f"{name}-0")
    active = sorted(f for f in os.listdir(pdir) if f.endswith(".log"))[-1]
    with open(os.path.join(pdir, active), "ab") as f:
        # baseOffset=10, batchLength=256, then junk: a batch header cut short.
        f.write((10).to_bytes(8, "big") + (256).to_bytes(4, "big") + b"\x00\x00\x00\x00\x02garbage")
    b.start()
    assert watermarks(b.bootstrap, name, 0) == (0, 10)
    more = produce_all(producer(b.bootstrap), [{"topic": name, "partition": 0, "value": b"after"}])
    assert more[0].offset() == 10
    got = consume_from(b.bootstrap, [TopicPartition(name, 0, OFFSET_BEGINNING)], 11)
    assert [m.value() for m in got] == [b"v%d" % i for i in range(10)] + [b"after"]


def test_crash_during_continuous_produce(fresh_broker):
    """kill -9 while a producer is streaming: every record the broker acknowledged is there after restart,
    at the offset it was acknowledged with, and offsets have no gaps."""
    b = fresh_broker
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("live"), partitions=3, config={"segment.bytes": "65536"})
    acked = {}
    stop = threading.Event()

    def run():
        p = producer(b.bootstrap, **{"acks": "all", "linger.ms": 1, "message.timeout.ms": 3000, "retries": 0})

        def cb(err, msg):
            if err is None:
                acked[(msg.partition(), msg.offset())] = msg.value()

        i = 0
        while not stop.is_set():
            try:
                p.produce(name, value=b"x%d" % i, partition=i % 3, on_delivery=cb)
                i += 1
            except BufferError:
                pass
            p.poll(0)
        p.flush(5)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        wait_until(lambda: len(acked) > 3000, 10, message="some acknowledged records")
        b.kill9()
    finally:
        stop.set()
        t.join(15)
    assert not t.is_alive()
    b.start()
    highs = [watermarks(b.bootstrap, name, p) for p in range(3)]
    total = sum(h for _, h in highs)
    assert all(lo == 0 for lo, _ in highs)
    got = consume_from(b.bootstrap, [TopicPartition(name, p, OFFSET_BEGINNING) for p in range(3)], total, timeout=60)
    seen = {(m.partition(), m.offset()): m.value() for m in got}
    assert len(seen) == total
    for p in range(3):
        assert sorted(o for (pp, o) in seen if pp == p) == list(range(highs[p][1]))
    lost = [(k, v) for k, v in acked.items() if seen.get(k) != v]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged records lost/changed, e.g. {lost[:5]}"
    # Producing continues right after the recovered end.
    more = produce_all(producer(b.bootstrap), [{"topic": name, "partition": p, "value": b"next"} for p in range(3)])
    assert [m.offset() for m in more] == [h for _, h in highs]


def test_retention_progress_survives_restart(broker_factory):
    b = broker_factory({"log.retention.check.interval.ms": "200"})
    adm = admin(b.bootstrap)
    name = create_topic(adm, unique("retr"), config={"segment.bytes": "1024", "retention.bytes": "2048"})
    tp = TopicPartition(name, 0)
    produce_all(producer(b.bootstrap, **{"linger.ms": 0, "batch.num.messages": 1}),
                [{"topic": name, "partition": 0, "value": b"x" * 100} for _ in range(100)])
    start = wait_until(lambda: list_offset(adm, tp, OffsetSpec.earliest()).offset or None, 10, interval=0.2,
                       message="retention to delete segments")
    b.restart()
    lo, hi = watermarks(b.bootstrap, name, 0)
    assert hi == 100
    assert lo >= start, f"log start offset went back from {start} to {lo} after restart"
    b.crash_and_restart()
    lo2, hi2 = watermarks(b.bootstrap, name, 0)
    assert hi2 == 100 and lo2 >= start


# ======================================================================= broker configs


def test_describe_broker_configs(broker_factory):
    b = broker_factory({"log.retention.ms": "7200000", "num.partitions": "3"})
    adm = admin(b.bootstrap)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    cfg = result(adm.describe_configs([res], request_timeout=TIMEOUT)[res])
    assert cfg["log.retention.ms"].value == "7200000"
    assert source(cfg["log.retention.ms"]) == ConfigSource.STATIC_BROKER_CONFIG
    assert cfg["num.partitions"].value == "3"
    assert source(cfg["num.partitions"]) == ConfigSource.STATIC_BROKER_CONFIG
    assert cfg["log.segment.bytes"].value == "1073741824"
    assert source(cfg["log.segment.bytes"]) == ConfigSource.DEFAULT_CONFIG
    # The static num.partitions applies to auto-created topics.
    name = unique("np3")
    produce_all(producer(b.bootstrap), [{"topic": name, "value": b"x"}])
    assert len(adm.list_topics(name, timeout=TIMEOUT).topics[name].partitions) == 3


def test_describe_broker_configs_unset_values_are_null(broker):
    """Kafka reports configs with no value (null default, e.g. log.retention.minutes,
    advertised.listeners when unset) with a null value, not an empty string."""
    adm = admin(broker.bootstrap)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    cfg = result(adm.describe_configs([res], request_timeout=TIMEOUT)[res])
    empty = sorted(k for k, v in cfg.items() if v.value == "")
    assert not empty, f"configs reported as '' instead of null: {empty}"
