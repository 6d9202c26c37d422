"""KIP-714 client telemetry: `rk client-metrics` (kafka-client-metrics.sh) manages the
subscriptions, librdkafka (confluent-kafka) and the Java client with their default settings
ask for them and push, and what they push appears on the broker's /metrics under the
clients' own metric names, labelled with the client. Subscriptions match on the client's
software name, so a client no subscription matches pushes nothing."""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import Producer

from conftest import rk_bin, unique
from test_java_client import java_classes, run_java  # noqa: F401  (fixture)
from test_metrics import mbroker, scrape  # noqa: F401  (fixture)
from util import wait_until


def cm(b, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([rk_bin(), "client-metrics", "--bootstrap-server", b.bootstrap, *args], capture_output=True, text=True, timeout=30)


def client_series(url: str, **labels) -> dict:
    """The pushed samples whose labels include `labels`."""
    return {k: v for k, v in scrape(url).items() if all((n, val) in k[1] for n, val in labels.items())}


def produce_for(b, client_id: str, seconds: float) -> None:
    p = Producer({"bootstrap.servers": b.bootstrap, "client.id": client_id})
    end = time.time() + seconds
    while time.time() < end:
        p.produce(unique("tele"), b"v")
        p.poll(0.1)
    assert p.flush(15) == 0


def test_client_metrics_tool_manages_subscriptions(mbroker):
    b, _ = mbroker
    name = unique("sub")
    r = cm(b, "--alter", "--name", name, "--metrics", "org.apache.kafka.producer.,org.apache.kafka.consumer.", "--interval", "2000", "--match", "client_id=app-.*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Altered client metrics config for {name}."
    assert name in cm(b, "--list").stdout.split()
    d = cm(b, "--describe", "--name", name)
    assert d.returncode == 0, d.stderr
    lines = d.stdout.splitlines()
    assert lines[0] == f"Client metrics configs for {name} are:"
    assert sorted(lines[1:]) == sorted(["  metrics=org.apache.kafka.producer.,org.apache.kafka.consumer.", "  interval.ms=2000", "  match=client_id=app-.*"])
    # kafka-configs.sh sees the same resource.
    c = subprocess.run(
        [rk_bin(), "configs", "--bootstrap-server", b.bootstrap, "--describe", "--entity-type", "client-metrics", "--entity-name", name],
        capture_output=True, text=True, timeout=30,
    )
    assert c.returncode == 0 and f"Dynamic configs for client-metric {name} are:" in c.stdout and "interval.ms=2000" in c.stdout, c.stdout + c.stderr
    # Kafka's validation: interval range, selector names, unknown configs.
    bad = cm(b, "--alter", "--name", name, "--interval", "50")
    assert bad.returncode == 1 and "interval must be between 100 and 3600000" in bad.stdout
    bad = cm(b, "--alter", "--name", name, "--match", "client_rack=x")
    assert bad.returncode == 1 and "Illegal client matching pattern: client_rack=x" in bad.stdout
    bad = subprocess.run(
        [rk_bin(), "configs", "--bootstrap-server", b.bootstrap, "--alter", "--entity-type", "client-metrics", "--entity-name", name, "--add-config", "color=red"],
        capture_output=True, text=True, timeout=30,
    )
    assert bad.returncode != 0 and "Unknown client metrics configuration: color" in bad.stdout + bad.stderr
    assert cm(b, "--describe", "--interval", "5").returncode == 2
    # Deleting removes every config, and the subscription with them.
    r = cm(b, "--delete", "--name", name)
    assert r.returncode == 0 and r.stdout.strip() == f"Deleted client metrics config for {name}.", r.stdout + r.stderr
    assert name not in cm(b, "--list").stdout.split()


def test_librdkafka_pushes_what_its_subscription_asks_for(mbroker):
    b, url = mbroker
    # A subscription for Java clients only: librdkafka is told no metrics and pushes none.
    java_only = unique("java")
    assert cm(b, "--alter", "--name", java_only, "--metrics", "*", "--interval", "500", "--match", "client_software_name=apache-kafka-java").returncode == 0
    quiet = unique("quiet")
    produce_for(b, quiet, 3)
    assert not client_series(url, client_id=quiet), "a client no subscription matches pushed metrics"
    # One that matches librdkafka's software name (confluent-kafka-python on the wire).
    rd = unique("rdk")
    assert cm(b, "--alter", "--name", rd, "--metrics", "org.apache.kafka.producer.", "--interval", "500", "--match", "client_software_name=confluent-kafka-python").returncode == 0
    client = unique("pusher")
    produce_for(b, client, 4)
    series = wait_until(lambda: client_series(url, client_id=client), timeout=10, message="pushed librdkafka metrics on /metrics")
    names = {name for name, _ in series}
    assert all(n.startswith("org_apache_kafka_producer_") for n in names), names
    assert "org_apache_kafka_producer_node_request_latency_avg" in names, names
    labels = dict(next(iter(series))[1])
    assert labels["client_software_name"] == "confluent-kafka-python" and labels["client_instance_id"], labels
    for s in (java_only, rd):
        assert cm(b, "--delete", "--name", s).returncode == 0


def test_java_client_pushes_with_its_defaults(java_classes, mbroker):  # noqa: F811
    b, url = mbroker
    sub = unique("jsub")
    assert cm(b, "--alter", "--name", sub, "--metrics", "org.apache.kafka.producer.", "--interval", "1000", "--match", "client_software_name=apache-kafka-java").returncode == 0
    try:
        out = run_java(java_classes, b.bootstrap, "telemetry")
        # The id the client learnt (Kafka's base64 form) labels what it pushed.
        instance = next(line.split()[1] for line in out.splitlines() if line.startswith("INSTANCE "))
        series = wait_until(lambda: client_series(url, client_instance_id=instance), timeout=10, message="pushed Java metrics")
        names = {name for name, _ in series}
        assert "org_apache_kafka_producer_record_send_total" in names, sorted(names)
        assert all(n.startswith("org_apache_kafka_producer_") for n in names), sorted(names)
        sent = sum(v for (n, _), v in series.items() if n == "org_apache_kafka_producer_record_send_total")
        assert sent > 0, "the producer's record-send deltas add up"
        assert dict(next(iter(series))[1])["client_software_name"] == "apache-kafka-java"
    finally:
        cm(b, "--delete", "--name", sub)
