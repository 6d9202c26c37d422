"""The Java client (kafka-clients 4.3, with its default settings) against rk.

tests/java/JavaClientCheck.java is compiled once per session with the JDK's javac and run
per scenario (admin; idempotent produce with the defaults and group consume with commits,
classic and KIP-848; offsets by time; transactions with consume-transform-produce and
fencing; compression codecs with headers; regex subscriptions; rebalances; share groups
with implicit and explicit acknowledgement, and their start offsets across restarts). Each scenario
asserts inside the JVM and exits 1 on the first failed check. On a 3-node cluster the
default (idempotent, acks=all) producer writes through a killed partition leader and every
acknowledged record is read back exactly once.

scripts/setup-java installs the JDK and the jars (scripts/setup-interop calls it); without
them the tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka.admin import NewTopic

from conftest import REPO, rk_bin, unique
from test_cluster_confluent import PARTITIONS, leader_of, led_elsewhere, read_everything
from util import TIMEOUT, admin, result, wait_until

LIBS = REPO / "target" / "java" / "libs"
SOURCE = REPO / "tests" / "java" / "JavaClientCheck.java"
SCENARIO_TIMEOUT = 240


@pytest.fixture(scope="session")
def java_classes():
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (scripts/setup-java installs openjdk-17-jdk-headless through apt)")
    if not (LIBS / "kafka-clients-4.3.0.jar").exists():
        pytest.skip(f"kafka-clients jar missing in {LIBS} (run scripts/setup-java)")
    out = tempfile.mkdtemp(prefix="rk-java-")
    proc = subprocess.run(["javac", "-cp", f"{LIBS}/*", "-d", out, str(SOURCE)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"
    yield out
    shutil.rmtree(out, ignore_errors=True)


def run_java(classes: str, bootstrap: str, *args: str, timeout: float = SCENARIO_TIMEOUT) -> str:
    cmd = ["java", "-cp", f"{LIBS}/*{os.pathsep}{classes}", "JavaClientCheck", bootstrap, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(args)} failed (exit {proc.returncode}):\n{out[-6000:]}"
    assert f"DONE {args[0]}" in proc.stdout, out[-6000:]
    return proc.stdout


SCENARIOS = [
    ("admin",),
    ("produce-consume",),
    ("produce-consume-kip848",),
    ("offsets-for-times",),
    ("transactions",),
    ("compression",),
    ("regex", "classic"),
    ("regex", "consumer"),
    ("share",),
    ("rebalance", "classic"),
    ("rebalance", "consumer"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=["-".join(s) for s in SCENARIOS])
def test_java_client(java_classes, broker, scenario):
    out = run_java(java_classes, broker.bootstrap, *scenario)
    # Every scenario checks something: at least one OK line and none failed.
    assert any(line.startswith("OK ") for line in out.splitlines()), out
    broker.check_alive()


def test_java_share_group_resumes_after_a_restart(java_classes, fresh_broker):
    """A share group's start offsets survive a broker restart: after it, the group
    receives only the records written since, not the acknowledged ones again."""
    topic, group = unique("java-share-rs"), unique("java-share-rs-g")
    run_java(java_classes, fresh_broker.bootstrap, "share-phase", topic, group, "1")
    fresh_broker.restart()
    run_java(java_classes, fresh_broker.bootstrap, "share-phase", topic, group, "2")
    fresh_broker.crash_and_restart()
    run_java(java_classes, fresh_broker.bootstrap, "share-phase", topic, group, "3")

    # rk share-groups (kafka-share-groups.sh) sees the group the Java client left.
    def rk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([rk_bin(), "share-groups", "--bootstrap-server", fresh_broker.bootstrap, *args], capture_output=True, text=True, timeout=60)

    listed = rk("--list")
    assert listed.returncode == 0 and group in listed.stdout.split(), listed
    desc = rk("--describe", "--group", group)
    assert desc.returncode == 0, desc
    rows = [line.split() for line in desc.stdout.splitlines()[1:] if line.strip()]
    assert desc.stdout.split()[:5] == ["GROUP", "TOPIC", "PARTITION", "START-OFFSET", "LAG"], desc.stdout
    assert sorted(int(r[2]) for r in rows) == [0, 1] and sum(int(r[3]) for r in rows) == 300, desc.stdout
    assert all(r[4] == "0" for r in rows), desc.stdout
    assert "has no active members" in desc.stderr, desc.stderr
    state = rk("--describe", "--group", group, "--state")
    assert state.returncode == 0 and state.stdout.splitlines()[1].split()[-2:] == ["Empty", "0"], state.stdout
    missing = rk("--describe", "--group", "no-such-share-group")
    assert missing.returncode == 1 and "does not exist" in missing.stderr, missing
    deleted = rk("--delete", "--group", group)
    assert deleted.returncode == 0 and "was successful" in deleted.stdout, deleted
    assert group not in rk("--list").stdout.split()


def test_share_group_offsets_reset_and_deleted(java_classes, fresh_broker):
    """rk share-groups --reset-offsets / --delete-offsets (AlterShareGroupOffsets and
    DeleteShareGroupOffsets) on a group the Java client left: its next member gets the
    records again from the new start offsets."""
    topic, group = unique("java-share-reset"), unique("java-share-reset-g")
    run_java(java_classes, fresh_broker.bootstrap, "share-phase", topic, group, "1")

    def rk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([rk_bin(), "share-groups", "--bootstrap-server", fresh_broker.bootstrap, *args], capture_output=True, text=True, timeout=60)

    def starts() -> dict:
        out = rk("--describe", "--group", group)
        assert out.returncode == 0, out
        return {int(r[2]): int(r[3]) for r in (line.split() for line in out.stdout.splitlines()[1:] if line.strip())}

    assert sum(starts().values()) == 100
    # A dry run shows the plan and changes nothing; offsets past the end are clamped.
    plan = rk("--reset-offsets", "--group", group, "--topic", f"{topic}:0", "--to-offset", "100000", "--dry-run")
    assert plan.returncode == 0 and "NEW-OFFSET" in plan.stdout and "higher than latest" in plan.stderr, plan
    assert sum(starts().values()) == 100
    done = rk("--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
    assert done.returncode == 0, done
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith(group)]
    assert sorted((int(r[2]), int(r[3])) for r in rows) == [(0, 0), (1, 0)], done.stdout
    assert starts() == {0: 0, 1: 0}
    # The group's next member receives the 100 records again, once each.
    run_java(java_classes, fresh_broker.bootstrap, "share-count", topic, group, "100")
    assert sum(starts().values()) == 100
    deleted = rk("--delete-offsets", "--group", group, "--topic", topic)
    assert deleted.returncode == 0 and deleted.stdout.split()[-2:] == [topic, "Successful"], deleted
    assert starts() == {}
    # No start offsets: share.auto.offset.reset (earliest for this group) applies again.
    run_java(java_classes, fresh_broker.bootstrap, "share-count", topic, group, "100")
    # Errors: an unknown group, a missing scenario, an unknown topic.
    missing = rk("--reset-offsets", "--group", "no-such-share-group", "--topic", topic, "--to-earliest", "--execute")
    assert missing.returncode == 1 and "does not exist" in missing.stderr, missing
    assert rk("--reset-offsets", "--group", group, "--topic", topic).returncode == 2
    unknown = rk("--delete-offsets", "--group", group, "--topic", "no-such-topic")
    assert unknown.returncode == 1 and "UnknownTopicOrPartition" in unknown.stdout, unknown


def test_java_share_group_on_a_cluster_through_a_killed_leader(java_classes, cluster):
    """On 3 nodes the share partitions' leaders persist their start offsets at the group's
    coordinator (another broker for some partitions): after the leader of partition 0 is
    killed, its new leader resumes where the group was, neither redelivering the
    acknowledged records nor skipping new ones."""
    adm = admin(cluster.bootstrap)
    topic, group = unique("java-share-cl"), unique("java-share-cl-g")
    futs = adm.create_topics(
        [NewTopic(topic, num_partitions=2, replication_factor=3, config={"min.insync.replicas": "2"})],
        operation_timeout=10,
        request_timeout=TIMEOUT,
    )
    result(futs[topic])
    # share-phase 1 creates the topic only when it is missing.
    run_java(java_classes, cluster.bootstrap, "share-phase", topic, group, "1")
    leader = leader_of(adm, topic, 0)
    cluster.node(leader).kill9()
    wait_until(lambda: led_elsewhere(adm, topic, 0, leader), timeout=30, message="partition 0 led by another node")
    run_java(java_classes, cluster.bootstrap, "share-phase", topic, group, "2")
    cluster.node(leader).start()


def test_java_idempotent_producer_through_a_killed_leader(java_classes, cluster):
    """The Java producer's defaults (idempotence, acks=all) on an RF=3 topic while the
    leader of partition 0 is SIGKILLed and restarted: every acknowledged record is read
    back, none twice, in send order per key."""
    adm = admin(cluster.bootstrap)
    topic = unique("java-failover")
    futs = adm.create_topics(
        [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3, config={"min.insync.replicas": "2"})],
        operation_timeout=10,
        request_timeout=TIMEOUT,
    )
    result(futs[topic])
    leader = leader_of(adm, topic, 0)
    victim = cluster.node(leader)
    acked_file = Path(tempfile.mkdtemp(prefix="rk-java-acked-")) / "acked"
    n = 15_000
    errors: list[BaseException] = []

    def produce():
        try:
            run_java(java_classes, cluster.bootstrap, "produce-seq", topic, str(n), str(acked_file))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(5)  # the JVM starts and the producer is mid-stream (about 1000 records/s)
    victim.kill9()
    wait_until(lambda: led_elsewhere(adm, topic, 0, leader), timeout=30, message="partition 0 led by another node")
    time.sleep(2)
    victim.start()
    t.join(timeout=SCENARIO_TIMEOUT)
    assert not t.is_alive(), "the Java producer did not finish"
    assert not errors, errors[0]
    acked = {int(x) for x in acked_file.read_text().split()}
    shutil.rmtree(acked_file.parent, ignore_errors=True)
    assert len(acked) > n // 2, f"only {len(acked)} of {n} acknowledged"

    got = read_everything(cluster.bootstrap, topic, unique("java-verify"), timeout=60)
    seqs = Counter(seq for recs in got.values() for _, seq, _ in recs)
    lost = acked - set(seqs)
    dups = [s for s, c in seqs.items() if c > 1]
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {sorted(lost)[:10]}"
    assert not dups, f"{len(dups)} records written twice with idempotence on, e.g. {sorted(dups)[:10]}"
    for p, recs in got.items():
        by_key: dict[bytes, int] = {}
        for _, seq, key in recs:
            assert by_key.get(key, -1) < seq, f"partition {p}: key {key!r} seq {seq} after {by_key[key]}"
            by_key[key] = seq
