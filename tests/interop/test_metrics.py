"""The broker's Prometheus endpoint (`metrics.listener`), parsed with prometheus_client's
OpenMetrics parser (strict: a malformed exposition fails the test), and its figures
checked against what the test did with confluent-kafka: records and bytes produced per
topic, requests per API, hosted partitions, a group's lag before and after it consumes,
and the readiness and liveness endpoints."""

from __future__ import annotations

import shutil
import tempfile
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import BrokerFactory, free_port, unique


@pytest.fixture(scope="module")
def mbroker():
    """A broker with metrics.listener on a free port: (broker, metrics base URL)."""
    root = tempfile.mkdtemp(prefix="rk-metrics-")
    factory = BrokerFactory(root)
    port = free_port()
    try:
        b = factory({"metrics.listener": f"http://127.0.0.1:{port}", "group.initial.rebalance.delay.ms": "0"})
        yield b, f"http://127.0.0.1:{port}"
    finally:
        factory.close()
        shutil.rmtree(root, ignore_errors=True)


def scrape(url: str) -> dict:
    """{(sample name, frozenset(labels)): value} of one scrape."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_follow_what_clients_did(mbroker):
    b, url = mbroker
    topic, group = unique("met"), unique("g")
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    a.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=15)
    before = scrape(url)
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
    n, size = 500, 200
    for i in range(n):
        p.produce(topic, key=str(i).encode(), value=b"x" * size)
    assert p.flush(15) == 0
    after = scrape(url)
    assert value(after, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == n
    assert value(after, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) >= n * size
    produced = value(after, "kafka_network_requestmetrics_requests_total", request="Produce") - value(before, "kafka_network_requestmetrics_requests_total", request="Produce")
    assert produced >= 1
    assert value(after, "kafka_network_requestmetrics_totaltimems_count", request="Produce") >= produced
    assert value(after, "kafka_server_replicamanager_partitioncount") >= 3
    assert value(after, "process_resident_memory_bytes") > 0

    # A group that committed offset 0 on every partition lags by everything produced.
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, i, 0) for i in range(3)], asynchronous=False)
    lag = scrape(url)
    total = sum(value(lag, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=str(i)) for i in range(3))
    assert total == n
    # Consuming everything and committing brings the lag to zero.
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 30
    while got < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    c.commit(asynchronous=False)
    c.close()
    assert got == n
    done = scrape(url)
    assert sum(value(done, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=str(i)) for i in range(3)) == 0
    assert value(done, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= n * size


def test_health_endpoints(mbroker):
    _, url = mbroker
    assert urllib.request.urlopen(f"{url}/health/live", timeout=5).status == 200
    assert urllib.request.urlopen(f"{url}/health/ready", timeout=5).status == 200
