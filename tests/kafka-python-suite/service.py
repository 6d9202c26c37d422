"""Stand-in for kafka-python's test/service.py.

The kafka-python sdist on PyPI ships test/integration/ but not test/service.py, which the
integration fixtures import (the repository has it). scripts/kafka-python-suite copies this
file into the unpacked sdist. Only the external-broker path is provided: the suite runs
against a broker named by KAFKA_URI (an `rk server start` the script runs), as the
fixtures' `external=True` mode expects; spawning Kafka/ZooKeeper processes is not.
"""

import logging

log = logging.getLogger(__name__)


class ExternalService:
    """A broker that is already running at host:port."""

    def __init__(self, host, port):
        log.info("Using already running service at %s:%d", host, port)
        self.host = host
        self.port = port

    def open(self):
        pass

    def close(self):
        pass

    def start(self):
        pass

    def stop(self):
        pass

    def dump_logs(self):
        pass

    def wait_for(self, pattern, timeout=30):
        return True


class SpawnedService:
    """Not available: the suite is pointed at a running broker through KAFKA_URI. A test
    that spawns a broker of its own (the SSL tests: a broker with JKS key stores) is
    skipped, saying so."""

    def __init__(self, *args, **kwargs):
        import pytest

        pytest.skip("spawns its own Kafka broker (SSL with JKS key stores); this run uses an external broker (KAFKA_URI)")
