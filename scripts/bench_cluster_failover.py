"""Unavailability of a partition when its leader dies, measured as a client sees it.

Three `rk server start` nodes (combined mode, default settings) on loopback; a topic with
one partition, replication factor 3 and min.insync.replicas=2. A confluent-kafka producer
(librdkafka, default settings: acks=all) writes a record every ~0.5 ms. Each round finds
the partition's leader and kills it (SIGKILL, or SIGTERM for a controlled shutdown); the
round's unavailability is the gap between the last acknowledged write before the signal
and the first acknowledged write after it. The node is then restarted and the round ends
once it is back in the ISR.

With CLIENT `rk`, the producer is `rk perf-test producer` (rk's own client, defaults,
20,000 records/s): each round's figure is the run's max latency, an upper bound of the gap
(a record sent just before the signal is acknowledged only after the failover).

Prints one JSON line: {"client": ..., "signal": ..., "gaps_ms": [...]}.
Usage: python bench_cluster_failover.py RK_BIN SIGNAL(KILL|TERM) ROUNDS [CLIENT(confluent|rk)]
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, rk: str, node_id: int, port: int, cport: int, voters: str, root: str):
        self.rk, self.id, self.port = rk, node_id, port
        self.dir = os.path.join(root, f"node-{node_id}")
        self.log = open(os.path.join(root, f"node-{node_id}.log"), "ab")
        self.args = [
            rk, "server", "start", "--data-dir", self.dir, "--node-id", str(node_id),
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
            "--override", "controller.listener.names=CONTROLLER",
            "--override", f"controller.quorum.voters={voters}",
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if "ready on" in line:
                return
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"node {self.id} did not start")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.proc = None


def partition0(admin: AdminClient, topic: str):
    md = admin.list_topics(topic, timeout=5)
    return md.topics[topic].partitions[0]


def wait(what: str, check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> None:
    rk, sig_name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = sys.argv[4] if len(sys.argv) > 4 else "confluent"
    sig = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}[sig_name]
    root = tempfile.mkdtemp(prefix="rk-bench-failover-")
    ports = [(free_port(), free_port()) for _ in range(3)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
    nodes = [Node(rk, i + 1, p, c, voters, root) for i, (p, c) in enumerate(ports)]
    try:
        for n in nodes:
            n.start()
        bootstrap = ",".join(f"127.0.0.1:{n.port}" for n in nodes)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topic = "failover"
        wait("3 brokers", lambda: len(admin.list_topics(timeout=5).brokers) == 3)
        admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
        wait("a full ISR", lambda: len(partition0(admin, topic).isrs) == 3)
        acks: list[float] = []

        def delivered(err, _msg):
            if err is None:
                acks.append(time.monotonic())

        # Extra client settings (key=value;...) to see what is the client's own wait.
        extra = dict(kv.split("=", 1) for kv in os.environ.get("RK_BENCH_PRODUCER", "").split(";") if kv)
        producer = Producer({"bootstrap.servers": bootstrap, **extra})

        def produce_for(seconds: float, until=None) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end and not (until and until()):
                try:
                    producer.produce(topic, b"x" * 100, callback=delivered)
                except BufferError:
                    pass
                producer.poll(0.0005)

        gaps = []
        for _ in range(rounds if client == "rk" else 0):
            leader = partition0(admin, topic).leader
            victim = nodes[leader - 1]
            perf = subprocess.Popen(
                [rk, "perf-test", "producer", "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", "60000",
                 "--record-size", "100", "--throughput", "20000", "--producer-props", "acks=all", "--output", "json"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            victim.signal(sig)
            out = perf.communicate(timeout=120)[0].decode().strip().splitlines()
            gaps.append(round(json.loads(out[-1])["max_latency_ms"], 1))
            victim.start()
            wait("the restarted node back in the ISR", lambda: len(partition0(admin, topic).isrs) == 3)
        for _ in range(rounds if client == "confluent" else 0):
            produce_for(1.0)
            leader = partition0(admin, topic).leader
            victim = nodes[leader - 1]
            before = len(acks)
            t_signal = time.monotonic()
            if os.environ.get("RK_BENCH_KEEP"):
                print(f"signal {sig_name} to node {victim.id} at {time.time():.3f}", file=sys.stderr)
            victim.signal(sig)
            # Produce until writes are acknowledged again (at most 30 s).
            produce_for(30.0, until=lambda: any(a > t_signal for a in acks[before:]))
            produce_for(0.2)
            last_before = max((a for a in acks if a <= t_signal), default=t_signal)
            first_after = min(a for a in acks if a > t_signal)
            gaps.append(round((first_after - last_before) * 1000, 1))
            victim.start()
            wait("the restarted node back in the ISR", lambda: len(partition0(admin, topic).isrs) == 3)
        producer.flush(30)
        print(json.dumps({"client": client, "signal": sig_name, "gaps_ms": gaps}))
    finally:
        for n in nodes:
            if n.proc:
                n.proc.kill()
                n.proc.wait()
        if os.environ.get("RK_BENCH_KEEP"):
            print(f"node logs and data kept in {root}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
