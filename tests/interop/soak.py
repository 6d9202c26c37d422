"""The soak run (#17): a 3-node rk cluster under a mixed workload for an hour (idempotent
producers and a committing group consumer, transactional producers with a read_committed
consumer, and a latency probe), with nodes 2 and 3 killed -9 and restarted in turn every
few minutes. Node 1 is never killed: its memory and open files over the hour show whether
anything leaks. Every minute it samples each node's RSS and open descriptors and the probe's
acks=all latency (p50/p99); at the end the chaos checkers run over both histories (every
anomaly count must be zero) and docs/SOAK.md gets the figures.

Usage: .venv/bin/python tests/interop/soak.py [--minutes 60] [--fault-every 240]
(scripts/soak runs it; RK_BIN chooses the binary.)
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from chaos_common import ANOMALIES, TXN_ANOMALIES, TxnWorkload, Workload, check, check_txn, read_all  # noqa: E402
from conftest import REPO, Cluster, unique  # noqa: E402

PARTITIONS = 3
# The commit under test, taken at the start (the tree may move on during the hour).
HEAD = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()


def proc_stats(pid: int) -> tuple[int, int]:
    """(RSS in KiB, open descriptors) of a process."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class Probe:
    """acks=all produce latency, 50 records/s, kept per minute."""

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap, self.topic = bootstrap, topic
        self.by_minute: dict[int, list[float]] = {}
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0, "socket.timeout.ms": 10000})

        def done(err, msg, sent):
            if err is None:
                minute = int((sent - self.start) // 60)
                self.by_minute.setdefault(minute, []).append((time.monotonic() - sent) * 1000.0)

        while not self._stop.is_set():
            sent = time.monotonic()
            p.produce(self.topic, value=b"probe", on_delivery=lambda err, msg, sent=sent: done(err, msg, sent))
            p.poll(0.02)
        p.flush(60)

    def begin(self):
        self._t.start()
        return self

    def end(self):
        self._stop.set()
        self._t.join(120)


def pct(v: list[float], q: float) -> float:
    if not v:
        return float("nan")
    s = sorted(v)
    return s[min(len(s) - 1, int(q * len(s)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--fault-every", type=float, default=240, help="seconds between kills")
    ap.add_argument("--out", default=str(REPO / "docs" / "SOAK.md"))
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="rk-soak-")
    c = Cluster(root).start()
    try:
        adm = AdminClient({"bootstrap.servers": c.bootstrap})
        topics = {n: unique(f"soak-{n}") for n in ("idem", "txn", "probe")}
        futs = adm.create_topics([NewTopic(t, PARTITIONS, 3, config={"min.insync.replicas": "2"}) for t in topics.values()])
        for f in futs.values():
            f.result(timeout=30)
        time.sleep(2)
        w = Workload(c.bootstrap, topics["idem"], unique("soak-g")).start()
        tw = TxnWorkload(c.bootstrap, topics["txn"]).start()
        probe = Probe(c.bootstrap, topics["probe"]).begin()
        samples = []  # (minute, [(rss, fds) per node])
        start = time.monotonic()
        next_sample, next_fault, victim = start + 60, start + a.fault_every, 2
        kills = 0
        while time.monotonic() - start < a.minutes * 60:
            now = time.monotonic()
            if now >= next_sample:
                minute = int((now - start) // 60)
                samples.append((minute, [proc_stats(n.proc.pid) if n.alive() else (0, 0) for n in c.nodes]))
                next_sample += 60
                print(f"minute {minute}: {samples[-1][1]}", flush=True)
            if now >= next_fault:
                node = c.node(victim)
                node.kill9()
                time.sleep(1.0)
                node.start()
                kills += 1
                victim = 5 - victim  # 2, 3, 2, ...
                next_fault += a.fault_every
            time.sleep(0.5)
        probe.end()
        w.stop()
        tw.stop()
        idem = check(w.history, read_all(c.bootstrap, topics["idem"], PARTITIONS))
        txn = check_txn(tw.history, read_all(c.bootstrap, topics["txn"], PARTITIONS, isolation="read_committed"))
    finally:
        c.close()
        subprocess.run(["rm", "-rf", root])
    write_report(a, samples, probe, idem, txn, kills)
    bad = {k: idem[k] for k in ANOMALIES if idem[k]} | {f"txn_{k}": txn[k] for k in TXN_ANOMALIES if txn[k]}
    if bad:
        print(f"ANOMALIES: {bad}", file=sys.stderr)
        sys.exit(1)


def write_report(a, samples, probe, idem, txn, kills):
    head = HEAD
    lines = ["# Soak run (#17)", "",
             f"`scripts/soak` on {datetime.date.today()} at {head}: a 3-node cluster (debug build unless RK_BIN says otherwise) for",
             f"{a.minutes:g} minutes under idempotent producers with a committing group consumer, transactional producers with a",
             f"read_committed consumer, and a latency probe (acks=all, 50 records/s); nodes 2 and 3 killed -9 and restarted in turn",
             f"every {a.fault_every:g} s ({kills} kills). Node 1 ran the whole time: its RSS and descriptors are the leak check.", "",
             "| minute | node 1 RSS MiB | node 1 fds | node 2 RSS MiB | node 3 RSS MiB | probe p50 ms | probe p99 ms |",
             "|---|---|---|---|---|---|---|"]
    for minute, stats in samples:
        lat = probe.by_minute.get(minute, [])
        lines.append(f"| {minute} | {stats[0][0] / 1024:.0f} | {stats[0][1]} | {stats[1][0] / 1024:.0f} | {stats[2][0] / 1024:.0f} | "
                     f"{pct(lat, 0.5):.1f} | {pct(lat, 0.99):.1f} |")
    if len(samples) >= 10:
        first, last = samples[2:7], samples[-5:]
        rss = lambda ss: statistics.mean(s[1][0][0] for s in ss) / 1024  # noqa: E731
        fds = lambda ss: statistics.mean(s[1][0][1] for s in ss)  # noqa: E731
        p99 = lambda ss: statistics.median(pct(probe.by_minute.get(m, []), 0.99) for m, _ in ss)  # noqa: E731
        lines += ["", f"Node 1, minutes 2-6 against the last five: RSS {rss(first):.0f} → {rss(last):.0f} MiB, "
                      f"descriptors {fds(first):.0f} → {fds(last):.0f}, probe p99 {p99(first):.1f} → {p99(last):.1f} ms."]
    lines += ["", "Anomalies (all must be 0):", "",
              f"- idempotent workload: {idem['acknowledged']} acknowledged, {idem['read']} read back; "
              + ", ".join(f"{k} {idem[k]}" for k in ANOMALIES),
              f"- transactional workload: {txn['transactions']} transactions ({txn['committed']} committed, {txn['aborted']} aborted, "
              f"{txn['unknown']} unknown), {txn['read']} records read back; " + ", ".join(f"{k} {txn[k]}" for k in TXN_ANOMALIES)]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
