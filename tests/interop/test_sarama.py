"""sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev), the Go client of the study
notes, against rk: with its defaults it speaks Kafka 0.8.2 (Produce v0 with message format
v0, Fetch v0, ListOffsets v0, OffsetCommit/OffsetFetch v1), then gzip/snappy/lz4 in
message formats v0 and v1, the cluster admin of 0.11 (CreateTopics, ListTopics with
DescribeConfigs v0, DeleteTopics) and a consumer group of 0.10.2. The checks live in
tests/sarama/main.go (built by scripts/setup-sarama); each prints an "ok" line."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import REPO, unique

CHECK = REPO / "target" / "sarama_check"


@pytest.mark.skipif(not os.access(CHECK, os.X_OK), reason="target/sarama_check not built (scripts/setup-sarama needs apt)")
def test_sarama_1_22_with_its_defaults(broker):
    r = subprocess.run([str(CHECK), broker.bootstrap, unique("sarama")], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    oks = [line for line in r.stdout.splitlines() if line.startswith("ok ")]
    assert len(oks) == 5, r.stdout
