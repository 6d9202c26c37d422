"""kcat (librdkafka CLI) against rk: metadata listing and a produce/consume round trip."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import unique
from util import admin, create_topic, produce_all, producer

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


@pytest.fixture(autouse=True)
def need_kcat():
    if KCAT is None:
        pytest.skip("kcat is not installed")


def kcat(broker, *args, input=None, timeout=30):
    cmd = [KCAT, "-b", broker.bootstrap, "-X", "socket.timeout.ms=10000", *args]
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(cmd)} -> {p.returncode}\nstdout: {p.stdout!r}\nstderr: {p.stderr!r}"
    return p.stdout.decode()


def test_kcat_list_metadata(broker):
    a = admin(broker.bootstrap)
    t1 = create_topic(a, unique("kcat-l"), partitions=3)
    t2 = create_topic(a, unique("kcat-l"), partitions=1)

    out = kcat(broker, "-L")
    assert "1 brokers:" in out
    assert f"broker 1 at 127.0.0.1:{broker.port}" in out
    assert f'topic "{t1}" with 3 partitions:' in out
    assert f'topic "{t2}" with 1 partitions:' in out

    md = json.loads(kcat(broker, "-L", "-J"))
    assert [(b["id"], b["name"]) for b in md["brokers"]] == [(1, f"127.0.0.1:{broker.port}")]
    topics = {t["topic"]: t for t in md["topics"]}
    assert t1 in topics and t2 in topics
    parts = topics[t1]["partitions"]
    assert sorted(p["partition"] for p in parts) == [0, 1, 2]
    for p in parts:
        assert p["leader"] == 1
        assert [r["id"] for r in p["replicas"]] == [1]
        assert [r["id"] for r in p["isrs"]] == [1]

    # -t limits the listing to one topic.
    md = json.loads(kcat(broker, "-L", "-J", "-t", t2))
    assert [t["topic"] for t in md["topics"]] == [t2]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_consume(broker, codec):
    name = create_topic(admin(broker.bootstrap), unique(f"kcat-{codec}"), partitions=2)
    lines = [f"key{i}:value number {i}" for i in range(25)]
    kcat(broker, "-P", "-t", name, "-p", "1", "-K", ":", "-z", codec, "-H", "hk=hv", "-H", "n=1",
         input=("\n".join(lines) + "\n").encode())

    out = kcat(broker, "-C", "-t", name, "-p", "1", "-o", "beginning", "-e", "-q", "-f", "%p|%o|%k|%s|%h\\n")
    got = out.splitlines()
    assert got == [f"1|{i}|key{i}|value number {i}|hk=hv,n=1" for i in range(25)]

    # Partition 0 is untouched; consuming it to the end yields nothing.
    assert kcat(broker, "-C", "-t", name, "-p", "0", "-o", "beginning", "-e", "-q") == ""

    # Offsets: -o <n> starts there, -c limits the count.
    out = kcat(broker, "-C", "-t", name, "-p", "1", "-o", "20", "-c", "3", "-e", "-q", "-f", "%o:%s\\n")
    assert out.splitlines() == [f"{i}:value number {i}" for i in (20, 21, 22)]
    # Negative (relative to the end) offsets go through ListOffsets latest.
    out = kcat(broker, "-C", "-t", name, "-p", "1", "-o", "-2", "-e", "-q", "-f", "%o\\n")
    assert out.splitlines() == ["23", "24"]


def test_kcat_query_offsets_by_time(broker):
    name = create_topic(admin(broker.bootstrap), unique("kcat-q"), partitions=1)
    base = 1_700_000_000_000
    # kcat -P cannot set per-message timestamps; produce with confluent-kafka.
    produce_all(producer(broker.bootstrap), [{"topic": name, "partition": 0, "value": b"m%d" % i, "timestamp": base + i * 1000} for i in range(5)])
    out = kcat(broker, "-Q", "-t", f"{name}:0:{base + 2500}")
    # kcat prints: "<topic> [0] offset 3"
    assert f"{name} [0] offset 3" in out, out
