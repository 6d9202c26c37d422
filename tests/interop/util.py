"""Small helpers shared by the interop tests (bounded waits, confluent-kafka plumbing)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

TIMEOUT = 15.0


def wait_until(predicate, timeout=10.0, interval=0.1, message="condition"):
    """Polls `predicate` until it returns a truthy value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


# ---------------------------------------------------------------- confluent-kafka


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def producer(bootstrap: str, **extra) -> Producer:
    conf = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "message.timeout.ms": 15000,
        "socket.timeout.ms": 10000,
    }
    conf.update(extra)
    return Producer(conf)


def consumer(bootstrap: str, **extra) -> Consumer:
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": "rk-interop-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "socket.timeout.ms": 10000,
        "fetch.wait.max.ms": 100,
        "enable.partition.eof": False,
    }
    conf.update(extra)
    return Consumer(conf)


def result(future, timeout=TIMEOUT):
    return future.result(timeout=timeout)


def error_code(future, timeout=TIMEOUT):
    """Returns the KafkaError code a future failed with (or None if it succeeded)."""
    try:
        future.result(timeout=timeout)
    except KafkaException as e:
        return e.args[0].code()
    return None


def create_topic(adm: AdminClient, name: str, partitions=1, config=None, **kw):
    futs = adm.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {}, **kw)],
        operation_timeout=10,
        request_timeout=TIMEOUT,
    )
    result(futs[name])
    # The broker is single node: metadata must show the topic right away.
    md = adm.list_topics(name, timeout=TIMEOUT)
    assert md.topics[name].error is None, md.topics[name].error
    assert len(md.topics[name].partitions) == partitions
    return name


def topic_configs(adm: AdminClient, name: str) -> dict:
    res = ConfigResource(ConfigResource.Type.TOPIC, name)
    return result(adm.describe_configs([res], request_timeout=TIMEOUT)[res])


def produce_all(p: Producer, records, timeout=TIMEOUT):
    """Produces records (dicts of Producer.produce kwargs); returns the delivered Messages
    in produce order, failing on any delivery error."""
    delivered = [None] * len(records)
    errors = []

    def cb(i):
        def _cb(err, msg):
            if err is not None:
                errors.append((i, err))
            delivered[i] = msg

        return _cb

    for i, r in enumerate(records):
        while True:
            try:
                p.produce(on_delivery=cb(i), **r)
                break
            except BufferError:
                p.poll(0.1)
    remaining = p.flush(timeout)
    assert remaining == 0, f"{remaining} messages not delivered within {timeout}s"
    assert not errors, f"delivery errors: {errors[:5]}"
    assert all(m is not None for m in delivered)
    return delivered


def consume_exact(c: Consumer, count: int, timeout=TIMEOUT):
    """Polls until exactly `count` messages arrived (and a little longer to catch extras)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for m in c.consume(num_messages=max(1, count - len(out)), timeout=0.5):
            if m.error():
                raise AssertionError(f"consumer error: {m.error()}")
            out.append(m)
    assert len(out) >= count, f"got {len(out)} of {count} messages within {timeout}s"
    # Nothing beyond what was produced.
    extra = [m for m in c.consume(num_messages=100, timeout=0.3) if not m.error()]
    assert not extra, f"unexpected extra messages: {[(m.partition(), m.offset()) for m in extra]}"
    return out


def consume_from(bootstrap: str, tps, count: int, timeout=TIMEOUT, **extra):
    c = consumer(bootstrap, **extra)
    try:
        c.assign(tps)
        return consume_exact(c, count, timeout)
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partition: int):
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=TIMEOUT, cached=False)
    finally:
        c.close()


def kafka_error_name(code) -> str:
    for name in dir(KafkaError):
        if name.isupper() and getattr(KafkaError, name) == code:
            return name
    return str(code)


# ---------------------------------------------------------------- kafka-python


def kp_admin(bootstrap: str):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(TIMEOUT * 1000))


def kp_create_topic(bootstrap: str, name: str, partitions: int) -> str:
    """Creates a topic with kafka-python's admin client and checks the broker's answer."""
    adm = kp_admin(bootstrap)
    try:
        res = adm.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}}, wait_for_metadata=True)
        [t] = res["topics"]
        assert t["error_code"] == 0, t
    finally:
        adm.close()
    return name
