"""kafka-python (pure Python client, its own protocol implementation) against rk."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec
from kafka import errors as Errors
from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec

from conftest import unique
from util import wait_until

TIMEOUT_MS = 15000


def kp_admin(b):
    return KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=TIMEOUT_MS)


def kp_producer(b, **kw):
    conf = dict(
        bootstrap_servers=b.bootstrap,
        request_timeout_ms=TIMEOUT_MS,
        linger_ms=5,
    )
    conf.update(kw)
    return KafkaProducer(**conf)


def kp_consumer(b, **kw):
    conf = dict(
        bootstrap_servers=b.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        request_timeout_ms=TIMEOUT_MS,
    )
    conf.update(kw)
    return KafkaConsumer(**conf)


def poll_exact(c: KafkaConsumer, count: int, timeout=15.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            out.extend(recs)
    assert len(out) >= count, f"got {len(out)} of {count} records within {timeout}s"
    extra = [r for recs in c.poll(timeout_ms=300).values() for r in recs]
    assert not extra, f"unexpected extra records: {[(r.partition, r.offset) for r in extra]}"
    return out


def create(adm, name, partitions=1, configs=None, **kw):
    res = adm.create_topics(
        {name: {"num_partitions": partitions, "replication_factor": 1, "configs": configs or {}, **kw}},
        wait_for_metadata=True,
    )
    [t] = res["topics"]
    assert t["error_code"] == 0, t
    return t


def codec_available(codec):
    return {
        None: True,
        "gzip": kcodec.has_gzip(),
        "snappy": kcodec.has_snappy(),
        "lz4": kcodec.has_lz4(),
        "zstd": kcodec.has_zstd(),
    }[codec]


# ======================================================================= admin


def test_admin_create_describe_delete(broker):
    adm = kp_admin(broker)
    try:
        name = unique("kp-admin")
        t = create(adm, name, partitions=3, configs={"retention.ms": "7777777", "cleanup.policy": "compact"})
        # CreateTopics v5+ echoes the resulting partitions, replication factor and configs.
        assert t["num_partitions"] == 3
        assert t["replication_factor"] == 1
        assert t["configs"]["retention.ms"]["value"] == "7777777"
        assert t["configs"]["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert t["configs"]["segment.bytes"]["config_source"] == "DEFAULT_CONFIG"

        assert name in adm.list_topics()
        [desc] = adm.describe_topics([name])
        assert desc["error_code"] == 0
        assert desc["is_internal"] is False
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2]
        for p in desc["partitions"]:
            assert (p["leader_id"], p["replica_nodes"], p["isr_nodes"]) == (1, [1], [1])

        # config_filter='modified' (the default) only returns what was set on the topic.
        cfg = adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
        assert {k: v["value"] for k, v in cfg.items()} == {"retention.ms": "7777777", "cleanup.policy": "compact"}
        assert cfg["retention.ms"]["config_type"] == "LONG"
        allcfg = adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], config_filter="all")["topic"][name]
        assert allcfg["segment.bytes"]["value"] == "1073741824"
        assert allcfg["segment.bytes"]["config_source"] == "DEFAULT_CONFIG"

        with pytest.raises(Errors.TopicAlreadyExistsError):
            adm.create_topics({name: {"num_partitions": 1, "replication_factor": 1}})

        res = adm.delete_topics([name])
        assert [t["error_code"] for t in res["topics"]] == [0]
        wait_until(lambda: name not in adm.list_topics(), 5, message="deleted topic gone from metadata")
        with pytest.raises(Errors.UnknownTopicOrPartitionError):
            adm.delete_topics([name])
    finally:
        adm.close()


def test_admin_invalid_requests(broker):
    adm = kp_admin(broker)
    try:
        name = unique("kp-inv")
        with pytest.raises(Errors.InvalidConfigurationError):
            adm.create_topics({name: {"num_partitions": 1, "replication_factor": 1, "configs": {"retention.ms": "abc"}}})
        with pytest.raises(Errors.InvalidReplicationFactorError):
            adm.create_topics({name: {"num_partitions": 1, "replication_factor": 2}})
        # Broker defaults (-1/-1, CreateTopics v4+) give num.partitions=1, RF 1.
        res = adm.create_topics({name: {}}, wait_for_metadata=True)
        assert res["topics"][0]["error_code"] == 0
        assert res["topics"][0]["num_partitions"] == 1
        assert res["topics"][0]["replication_factor"] == 1
        # validate_only create of an existing topic still reports it exists.
        res = adm.create_topics({name: {"num_partitions": 1}}, validate_only=True, raise_errors=False)
        assert res["topics"][0]["error_code"] == Errors.TopicAlreadyExistsError.errno
    finally:
        adm.close()


def test_admin_alter_configs_and_partitions(broker):
    adm = kp_admin(broker)
    try:
        name = unique("kp-alter")
        create(adm, name, partitions=1, configs={"retention.ms": "1000000"})
        adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, {"segment.ms": "3600000"})], incremental=True)
        cfg = adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
        assert {k: v["value"] for k, v in cfg.items()} == {"retention.ms": "1000000", "segment.ms": "3600000"}

        adm.create_partitions({name: 4})
        [desc] = adm.describe_topics([name])
        assert len(desc["partitions"]) == 4
        with pytest.raises(Errors.InvalidPartitionsError):
            adm.create_partitions({name: 2})
    finally:
        adm.close()


def test_admin_cluster_and_log_dirs(broker):
    adm = kp_admin(broker)
    try:
        cl = adm.describe_cluster()
        assert cl["cluster_id"]
        assert cl["controller_id"] == 1
        assert [(x["broker_id"], x["host"], x["port"]) for x in cl["brokers"]] == [(1, "127.0.0.1", broker.port)]

        name = unique("kp-logdirs")
        create(adm, name, partitions=2)
        p = kp_producer(broker)
        for i in range(20):
            p.send(name, value=b"z" * 1000, partition=0)
        p.flush(timeout=10)
        p.close()
        dirs = adm.describe_log_dirs({name: [0, 1]})
        [entry] = dirs
        assert entry["broker"] == 1
        [d] = entry["log_dirs"]
        assert d["error_code"] == 0
        assert d["log_dir"] == broker.data_dir or d["log_dir"].rstrip("/") == broker.data_dir.rstrip("/")
        sizes = {p["partition_index"]: p["partition_size"] for t in d["topics"] if t["name"] == name for p in t["partitions"]}
        assert set(sizes) == {0, 1}
        assert sizes[0] >= 20 * 1000, sizes
        assert sizes[1] == 0
        assert d["total_bytes"] > 0 and 0 <= d["usable_bytes"] <= d["total_bytes"]
    finally:
        adm.close()


def test_admin_delete_records_and_list_offsets(broker):
    adm = kp_admin(broker)
    try:
        name = unique("kp-dr")
        create(adm, name, partitions=1)
        tp = TopicPartition(name, 0)
        base = int(time.time() * 1000) - 50_000
        p = kp_producer(broker)
        stamps = [base + 10, base + 500, base + 20, base + 30]
        for i, ts in enumerate(stamps):
            p.send(name, value=b"%d" % i, partition=0, timestamp_ms=ts).get(timeout=10)
        p.close()
        offs = adm.list_partition_offsets({tp: OffsetSpec.EARLIEST})
        assert offs[tp].offset == 0
        assert adm.list_partition_offsets({tp: OffsetSpec.LATEST})[tp].offset == 4
        mx = adm.list_partition_offsets({tp: OffsetSpec.MAX_TIMESTAMP})[tp]
        assert (mx.offset, mx.timestamp) == (1, base + 500)
        res = adm.delete_records({tp: 2})
        assert res[tp]["low_watermark"] == 2
        assert adm.list_partition_offsets({tp: OffsetSpec.EARLIEST})[tp].offset == 2
    finally:
        adm.close()


# ======================================================================= produce / consume


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"], ids=lambda c: c or "none")
def test_produce_consume_codec(broker, codec):
    if not codec_available(codec):
        pytest.fail(f"python codec library for {codec} missing: pip install -r tests/interop/requirements.txt")
    adm = kp_admin(broker)
    name = unique(f"kp-{codec or 'none'}")
    create(adm, name, partitions=2)
    adm.close()

    ts_base = int(time.time() * 1000) - 5000
    p = kp_producer(broker, compression_type=codec, acks="all", batch_size=4096, linger_ms=20)
    futures = []
    expected = []
    for i in range(60):
        part = i % 2
        key = b"k%03d" % i
        value = (b"val-%03d|" % i) + b"abc" * (i * 3)
        headers = [("idx", b"%d" % i), ("same", b"s"), ("same", b"t")]
        futures.append(p.send(name, key=key, value=value, headers=headers, partition=part, timestamp_ms=ts_base + i))
        expected.append((part, key, value, headers, ts_base + i))
    metas = [f.get(timeout=15) for f in futures]
    p.close()
    for part in (0, 1):
        assert [m.offset for m in metas if m.partition == part] == list(range(30))

    c = kp_consumer(broker)
    try:
        tps = [TopicPartition(name, 0), TopicPartition(name, 1)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got = poll_exact(c, len(expected))
    finally:
        c.close()
    by_key = {r.key: r for r in got}
    for (part, key, value, headers, ts), meta in zip(expected, metas):
        r = by_key[key]
        assert (r.topic, r.partition, r.offset) == (name, part, meta.offset)
        assert r.value == value
        assert r.headers == headers
        assert r.timestamp == ts
        assert r.timestamp_type == 0  # CreateTime


def test_null_key_null_value(broker):
    name = unique("kp-null")
    adm = kp_admin(broker)
    create(adm, name)
    adm.close()
    p = kp_producer(broker, compression_type="gzip")
    # kafka-python refuses key=None and value=None together (client-side check).
    for key, value in [(b"a", None), (None, b"b"), (b"", b""), (b"z", b"")]:
        p.send(name, key=key, value=value, partition=0)
    p.flush(timeout=10)
    p.close()
    c = kp_consumer(broker)
    try:
        c.assign([TopicPartition(name, 0)])
        got = poll_exact(c, 4)
    finally:
        c.close()
    assert [(r.offset, r.key, r.value) for r in got] == [(0, b"a", None), (1, None, b"b"), (2, b"", b""), (3, b"z", b"")]


def test_consumer_offsets_apis(broker):
    name = unique("kp-offs")
    adm = kp_admin(broker)
    create(adm, name, partitions=2)
    adm.close()
    base = int(time.time() * 1000) - 30_000
    p = kp_producer(broker)
    for i in range(10):
        p.send(name, value=b"v%d" % i, partition=i % 2, timestamp_ms=base + i * 100)
    p.flush(timeout=10)
    p.close()

    t0, t1 = TopicPartition(name, 0), TopicPartition(name, 1)
    c = kp_consumer(broker)
    try:
        assert c.beginning_offsets([t0, t1]) == {t0: 0, t1: 0}
        assert c.end_offsets([t0, t1]) == {t0: 5, t1: 5}
        # i=5 (base+500) is partition 1 offset 2; for partition 0 the first at/after is i=6 -> offset 3.
        res = c.offsets_for_times({t0: base + 450, t1: base + 450})
        assert (res[t0].offset, res[t0].timestamp) == (3, base + 600)
        assert (res[t1].offset, res[t1].timestamp) == (2, base + 500)
        assert c.offsets_for_times({t0: base + 10_000})[t0] is None

        c.assign([t0, t1])
        c.seek(t0, res[t0].offset)
        c.seek(t1, res[t1].offset)
        got = poll_exact(c, 2 + 3)
        assert sorted(r.value for r in got) == sorted(b"v%d" % i for i in range(5, 10))

        # Seek back to the beginning and read everything again (a new fetch session epoch).
        c.seek_to_beginning(t0)
        again = poll_exact(c, 5)
        assert [r.offset for r in again] == list(range(5))
        assert c.position(t0) == 5
    finally:
        c.close()


def test_fetch_session_incremental(broker):
    """kafka-python uses incremental fetch sessions (KIP-227): keep polling across many
    fetches while records arrive on only some partitions; nothing may be lost or duplicated."""
    name = unique("kp-sess")
    adm = kp_admin(broker)
    create(adm, name, partitions=4)
    adm.close()
    c = kp_consumer(broker, fetch_max_wait_ms=50)
    p = kp_producer(broker, linger_ms=0)
    try:
        tps = [TopicPartition(name, i) for i in range(4)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got = []
        sent = 0
        for rnd in range(8):
            for j in range(5):
                p.send(name, value=b"%d-%d" % (rnd, j), partition=(rnd + j) % 2 + (2 if rnd % 3 == 0 else 0))
                sent += 1
            p.flush(timeout=10)
            deadline = time.monotonic() + 10
            while len(got) < sent and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=200).values():
                    got.extend(recs)
            assert len(got) == sent, f"round {rnd}: {len(got)} of {sent}"
        extra = [r for recs in c.poll(timeout_ms=300).values() for r in recs]
        assert not extra
        assert len({(r.partition, r.offset) for r in got}) == sent
        assert sorted(r.value for r in got) == sorted(b"%d-%d" % (r, j) for r in range(8) for j in range(5))
    finally:
        c.close()
        p.close()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_acks(broker, acks):
    name = unique(f"kp-acks{acks}")
    adm = kp_admin(broker)
    create(adm, name)
    adm.close()
    p = kp_producer(broker, acks=acks)
    futs = [p.send(name, key=b"%d" % i, value=b"v", partition=0) for i in range(50)]
    metas = [f.get(timeout=15) for f in futs]
    p.close()
    if acks != 0:
        assert [m.offset for m in metas] == list(range(50))
    tp = TopicPartition(name, 0)
    c = kp_consumer(broker)
    try:
        wait_until(lambda: c.end_offsets([tp])[tp] == 50, 10, message="all acks=%s records" % acks)
        c.assign([tp])
        got = poll_exact(c, 50)
    finally:
        c.close()
    assert [(r.offset, r.key) for r in got] == [(i, b"%d" % i) for i in range(50)]


def test_crash_restart_kafka_python(fresh_broker):
    """kill -9 and restart: records, topic configs and end offsets are all back."""
    b = fresh_broker
    name = unique("kp-restart")
    adm = kp_admin(b)
    create(adm, name, partitions=2, configs={"retention.bytes": "10485760"})
    adm.close()
    p = kp_producer(b, compression_type="lz4" if codec_available("lz4") else None)
    for i in range(40):
        p.send(name, key=b"%d" % i, value=b"r%d" % i, partition=i % 2)
    p.flush(timeout=10)
    p.close()

    b.kill9()
    b.start()

    adm = kp_admin(b)
    try:
        cfg = adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
        assert cfg["retention.bytes"]["value"] == "10485760"
    finally:
        adm.close()
    c = kp_consumer(b)
    try:
        tps = [TopicPartition(name, 0), TopicPartition(name, 1)]
        c.assign(tps)
        assert c.end_offsets(tps) == {tps[0]: 20, tps[1]: 20}
        got = poll_exact(c, 40)
    finally:
        c.close()
    assert sorted((r.partition, r.offset, r.key, r.value) for r in got) == sorted(
        (i % 2, i // 2, b"%d" % i, b"r%d" % i) for i in range(40)
    )


def test_create_partitions_with_assignment(broker):
    adm = kp_admin(broker)
    try:
        name = unique("kp-cpa")
        create(adm, name, partitions=1)
        adm.create_partitions({name: {"count": 3, "assignments": [[1], [1]]}})
        [desc] = adm.describe_topics([name])
        assert sorted((p["partition_index"], p["leader_id"], tuple(p["replica_nodes"])) for p in desc["partitions"]) == [
            (0, 1, (1,)), (1, 1, (1,)), (2, 1, (1,))]
        with pytest.raises(Errors.InvalidReplicationAssignmentError):
            adm.create_partitions({name: {"count": 4, "assignments": [[2]]}})
        assert len(adm.describe_topics([name])[0]["partitions"]) == 3
    finally:
        adm.close()


def test_topic_ids(fresh_broker):
    """Metadata v10+ topic ids: stable across restart, new after delete + recreate,
    and DeleteTopics v6 can delete by id."""
    import uuid

    b = fresh_broker
    adm = kp_admin(b)
    name = unique("kp-tid")
    t = create(adm, name)
    tid = adm.describe_topics([name])[0]["topic_id"]
    assert tid and str(tid) == str(t["topic_id"]) and str(tid) != "00000000-0000-0000-0000-000000000000"
    adm.close()

    b.restart()
    adm = kp_admin(b)
    try:
        assert str(adm.describe_topics([name])[0]["topic_id"]) == str(tid)
        adm.delete_topics([name])
        wait_until(lambda: name not in adm.list_topics(), 5, message="topic deleted")
        create(adm, name)
        tid2 = adm.describe_topics([name])[0]["topic_id"]
        assert str(tid2) != str(tid)
        res = adm.delete_topics([uuid.UUID(str(tid2))])
        assert [x["error_code"] for x in res["topics"]] == [0]
        wait_until(lambda: name not in adm.list_topics(), 5, message="topic deleted by id")
    finally:
        adm.close()


def test_offset_for_leader_epoch(broker):
    """OffsetForLeaderEpoch (sent through kafka-python's protocol layer): the end offset of the
    current epoch is the log end offset; unknown partitions and future epochs are reported like Kafka."""
    from kafka.protocol.consumer.offsets import OffsetForLeaderEpochRequest

    name = unique("kp-ofle")
    adm = kp_admin(broker)
    try:
        create(adm, name, partitions=2)
        p = kp_producer(broker)
        for _ in range(7):
            p.send(name, value=b"x", partition=0)
        p.flush(timeout=10)
        p.close()
        epochs = {pp["partition_index"]: pp["leader_epoch"] for pp in adm.describe_topics([name])[0]["partitions"]}
        epoch = epochs[0]
        assert epoch >= 0

        T = OffsetForLeaderEpochRequest.OffsetForLeaderTopic
        P = T.OffsetForLeaderPartition

        def ask(current, requested):
            req = OffsetForLeaderEpochRequest(replica_id=-1, topics=[T(topic=name, partitions=[
                P(partition=i, current_leader_epoch=current, leader_epoch=requested) for i in (0, 1, 9)])])
            resp = adm._manager.run(adm._manager.send, req, 1)
            [t] = resp.topics
            return {x.partition: (x.error_code, x.leader_epoch, x.end_offset) for x in t.partitions}

        r = ask(-1, epoch)
        assert r[0] == (0, epoch, 7)
        assert r[1] == (0, epoch, 0)
        assert r[9][0] == Errors.UnknownTopicOrPartitionError.errno
        assert ask(epoch, epoch)[0] == (0, epoch, 7)
        # A requested epoch newer than any known one: UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.
        assert ask(-1, epoch + 3)[0] == (0, -1, -1)
        # Fencing on current_leader_epoch.
        assert ask(epoch + 5, epoch)[0][0] == Errors.UnknownLeaderEpochError.errno
        if epoch > 0:
            assert ask(epoch - 1, epoch)[0][0] == Errors.FencedLeaderEpochError.errno
    finally:
        adm.close()


def test_not_enough_replicas(broker):
    """acks=all to a RF=1 topic with min.insync.replicas=2 must fail with NOT_ENOUGH_REPLICAS (19)."""
    name = unique("kp-misr")
    adm = kp_admin(broker)
    create(adm, name, configs={"min.insync.replicas": "2"})
    adm.close()
    p = kp_producer(broker, acks="all", retries=0)
    try:
        with pytest.raises(Errors.NotEnoughReplicasError):
            p.send(name, value=b"x", partition=0).get(timeout=10)
    finally:
        p.close()
    p = kp_producer(broker, acks=1, retries=0)
    try:
        meta = p.send(name, value=b"acks1", partition=0).get(timeout=10)
        assert meta.offset == 0
    finally:
        p.close()
