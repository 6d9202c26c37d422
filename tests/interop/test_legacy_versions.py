"""The request versions Kafka 4.0 removed (KIP-896), served by rk for clients from before
2019: kafka-python with an old `api_version` speaks exactly what a client of that era
speaks (Produce v0-2 with message formats v0/v1, Fetch v0-3 down-converted, ListOffsets
v0, OffsetCommit v1-2, OffsetFetch v1, CreateTopics v0, DeleteTopics v0, DescribeConfigs
v0, the ACL APIs v0, DescribeLogDirs v0), without asking ApiVersions; and librdkafka told not to ask (broker.version.fallback)."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as RdTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from conftest import unique

TIMEOUT_MS = 15000
# (api_version, what it speaks): 0.8.2 Produce/Fetch v0 (magic 0) and OffsetCommit v1;
# 0.9 Produce/Fetch v1 (magic 0), groups; 0.10.0 Produce/Fetch v2 (magic 1); 0.10.1
# ListOffsets v1, Fetch v3.
ERAS = [(0, 8, 2), (0, 9), (0, 10, 0), (0, 10, 1)]
CODECS = [None, "gzip", "snappy", "lz4"]


def has(codec):
    return codec is None or {"gzip": kcodec.has_gzip, "snappy": kcodec.has_snappy, "lz4": kcodec.has_lz4}[codec]()


@pytest.mark.parametrize("era", ERAS, ids=lambda e: ".".join(map(str, e)))
def test_old_clients_produce_and_consume_every_codec(broker, era):
    topic = unique("legacy")
    sent = []
    for codec in [c for c in CODECS if has(c)]:
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=era, compression_type=codec, request_timeout_ms=TIMEOUT_MS, linger_ms=5)
        futures = [p.send(topic, key=f"{codec}-{i}".encode(), value=f"v{i}".encode() * 20) for i in range(20)]
        metas = [f.get(timeout=30) for f in futures]
        p.close()
        offsets = [m.offset for m in metas]
        assert offsets == list(range(offsets[0], offsets[0] + 20)), offsets
        sent += [(f"{codec}-{i}".encode(), f"v{i}".encode() * 20) for i in range(20)]
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=era, group_id=None, auto_offset_reset="earliest",
                      consumer_timeout_ms=4000, request_timeout_ms=TIMEOUT_MS, fetch_max_wait_ms=100)
    c.assign([TopicPartition(topic, 0)])
    got = list(c)
    c.close()
    assert [(m.key, m.value) for m in got] == sent
    assert [m.offset for m in got] == list(range(len(sent)))
    # Magic 1 (0.10+) carries the producer's timestamps; magic 0 has none.
    if era >= (0, 10, 0):
        assert all(m.timestamp > 0 for m in got)
    else:
        assert all(m.timestamp in (None, -1) for m in got)


@pytest.mark.parametrize("era", [(0, 8, 2), (0, 9), (0, 10, 0)], ids=lambda e: ".".join(map(str, e)))
def test_old_group_consumer_commits_and_resumes(broker, era):
    topic, group = unique("legacy-g"), unique("g")
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)
    for i in range(30):
        p.send(topic, value=b"%d" % i)
    p.flush(30)
    p.close()

    def consumer():
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=era, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, consumer_timeout_ms=4000, request_timeout_ms=TIMEOUT_MS, fetch_max_wait_ms=100)
        if era >= (0, 9):
            c.subscribe([topic])
        else:
            c.assign([TopicPartition(topic, 0)])  # 0.8.2: no group membership, commits only
        return c

    c = consumer()
    first = []
    for m in c:
        first.append(int(m.value))
        if len(first) == 12:
            break
    c.commit()
    assert c.committed(TopicPartition(topic, 0)) == 12
    c.close()
    c = consumer()
    rest = [int(m.value) for m in c]
    c.close()
    assert first + rest == list(range(30))


def test_old_offset_lookups(broker):
    topic = unique("legacy-lo")
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)
    for i in range(7):
        p.send(topic, value=b"x")
    p.flush(30)
    p.close()
    tp = TopicPartition(topic, 0)
    # 0.9 looks offsets up with ListOffsets v0 (a list of offsets per partition).
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=(0, 9), request_timeout_ms=TIMEOUT_MS)
    assert c.end_offsets([tp]) == {tp: 7}
    assert c.beginning_offsets([tp]) == {tp: 0}
    c.assign([tp])
    c.seek_to_end(tp)
    assert c.position(tp) == 7
    c.close()


def test_old_admin_requests(broker):
    name = unique("legacy-adm")
    # 0.10.1: CreateTopics v0 and DeleteTopics v0.
    adm = KafkaAdminClient(bootstrap_servers=broker.bootstrap, api_version=(0, 10, 1), request_timeout_ms=TIMEOUT_MS)
    adm.create_topics([NewTopic(name, 3, 1, topic_configs={"retention.ms": "123456"})])
    assert name in adm.list_topics()
    # 0.11: DescribeConfigs v0 (is_default instead of a config source).
    adm11 = KafkaAdminClient(bootstrap_servers=broker.bootstrap, api_version=(0, 11), request_timeout_ms=TIMEOUT_MS)
    res = adm11.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    configs = res["topic"][name]
    assert configs["retention.ms"]["value"] == "123456", configs
    # Only the modified keys (is_default false) are kept by the client's default filter.
    assert "cleanup.policy" not in configs, configs
    adm.delete_topics([name])
    adm.close()
    adm11.close()


def api_versions(bootstrap: str) -> dict:
    host, port = bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">ihhih", 10, 18, 0, 1, -1))
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        body = s.recv(size, socket.MSG_WAITALL)
    _corr, err, n = struct.unpack(">ihi", body[:10])
    assert err == 0
    return {k: (lo, hi) for k, lo, hi in (struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i]) for i in range(n))}


def test_api_versions_advertise_the_old_versions_served(broker):
    v = api_versions(broker.bootstrap)
    # Produce, Fetch, ListOffsets, OffsetCommit, OffsetFetch, CreateTopics, DeleteTopics,
    # OffsetForLeaderEpoch, DescribeAcls, CreateAcls, DeleteAcls, DescribeConfigs,
    # AlterReplicaLogDirs, DescribeLogDirs: every client API KIP-896 removed versions of.
    for key in [0, 1, 2, 8, 9, 19, 20, 23, 29, 30, 31, 32, 34, 35]:
        assert v[key][0] == 0, (key, v[key])
    # Not served below Kafka 4's floor (WriteTxnMarkers v0, between brokers): not advertised.
    assert v[27][0] == 1


@pytest.mark.parametrize("fallback", ["0.9.0", "0.10.0"])
def test_librdkafka_without_api_version_request(broker, fallback):
    """librdkafka (confluent-kafka) told not to ask ApiVersions speaks the versions of
    `broker.version.fallback`: 0.9.0 is Produce/Fetch v1 with message format v0, 0.10.0
    Produce/Fetch v2 with format v1 (timestamps), compressed and not."""
    topic = unique("legacy-rdk")
    old = {"bootstrap.servers": broker.bootstrap, "api.version.request": False, "broker.version.fallback": fallback}
    sent = []
    for codec in ["none", "gzip", "snappy", "lz4"]:
        p = Producer({**old, "compression.codec": codec, "linger.ms": 5})
        errors = []
        for i in range(25):
            sent.append((f"{codec}-{i}".encode(), b"x" * (i * 10)))
            p.produce(topic, key=sent[-1][0], value=sent[-1][1], partition=0, timestamp=1_700_000_000_000 + i,
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
        assert p.flush(30) == 0
        assert not errors, errors
    c = Consumer({**old, "group.id": unique("g"), "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([RdTopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < len(sent) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m)
    c.close()
    assert [(m.key(), m.value()) for m in got] == sent
    assert [m.offset() for m in got] == list(range(len(sent)))
    if fallback == "0.10.0":
        assert [m.timestamp()[1] for m in got[:3]] == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]


@pytest.fixture
def acl_broker(broker_factory):
    return broker_factory({
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "true",
    })


def test_old_acl_and_log_dir_requests(acl_broker):
    """kafka-python at 0.11 manages ACLs with the v0 APIs (before prefixed patterns: every
    pattern LITERAL) and reads log dirs with DescribeLogDirs v0."""
    from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern, ResourcePatternFilter, ResourceType
    from kafka.admin._acls import ACLResourcePatternType as PT

    topic = unique("legacy-acl")
    adm = KafkaAdminClient(bootstrap_servers=acl_broker.bootstrap, api_version=(0, 11), request_timeout_ms=TIMEOUT_MS)
    acl = ACL("User:old", "*", ACLOperation.READ, ACLPermissionType.ALLOW, ResourcePattern(ResourceType.TOPIC, topic))
    created = adm.create_acls([acl])
    assert created["succeeded"] and not created["failed"], created
    flt = ACLFilter("User:old", None, ACLOperation.ANY, ACLPermissionType.ANY, ResourcePatternFilter(ResourceType.TOPIC, topic, PT.LITERAL))
    acls, err = adm.describe_acls(flt)
    assert err.errno == 0 and [(a.principal, a.operation, a.resource_pattern.resource_name) for a in acls] == [("User:old", ACLOperation.READ, topic)], acls
    deleted = adm.delete_acls([flt])
    assert len(deleted) == 1 and len(deleted[0][1]) == 1, deleted
    acls, err = adm.describe_acls(flt)
    assert err.errno == 0 and acls == []
    p = KafkaProducer(bootstrap_servers=acl_broker.bootstrap, request_timeout_ms=TIMEOUT_MS)
    p.send(topic, b"x").get(timeout=30)
    p.close()
    adm10 = KafkaAdminClient(bootstrap_servers=acl_broker.bootstrap, api_version=(1, 0), request_timeout_ms=TIMEOUT_MS)
    [dirs] = adm10.describe_log_dirs()
    names = {t["name"] for d in dirs["log_dirs"] for t in d["topics"]}
    assert topic in names, dirs
    adm.close()
    adm10.close()


def test_offset_for_leader_epoch_v0_and_v1(broker):
    topic = unique("legacy-ofle")
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)
    for _ in range(5):
        p.send(topic, b"x", partition=0)
    p.flush(30)
    p.close()
    host, port = broker.bootstrap.split(":")
    for v in (0, 1):
        name = topic.encode()
        body = struct.pack(">hhih", 23, v, 9, -1) + struct.pack(">ih", 1, len(name)) + name + struct.pack(">iii", 1, 0, 0)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
            b = s.recv(size, socket.MSG_WAITALL)
        assert struct.unpack_from(">ii", b, 0) == (9, 1)
        (n,) = struct.unpack_from(">h", b, 8)
        rest = b[10 + n:]
        if v == 0:
            assert struct.unpack(">ihiq", rest) == (1, 0, 0, 5), rest
        else:
            assert struct.unpack(">ihiiq", rest) == (1, 0, 0, 0, 5), rest
