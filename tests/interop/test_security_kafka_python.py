"""TLS and SASL against rk with kafka-python 3 and its default settings (idempotent
producer): SSL with and without a client certificate, SASL PLAIN and SCRAM-SHA-256/512
(credentials created with kafka-python's own admin client), and a wrong password refused."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from conftest import unique
from security_common import secure_broker


@pytest.fixture(scope="module")
def secure():
    yield from secure_broker()


def opts(ports, listener: str, **extra) -> dict:
    o = {"bootstrap_servers": f"127.0.0.1:{ports[listener]}", "request_timeout_ms": 15000}
    o.update(extra)
    return o


def round_trip(o: dict, n: int = 30) -> int:
    topic = unique("kpsec")
    admin = KafkaAdminClient(**o)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    p = KafkaProducer(**o)
    for i in range(n):
        p.send(topic, key=b"k", value=f"v{i}".encode())
    p.flush(20)
    p.close()
    c = KafkaConsumer(topic, group_id=unique("g"), auto_offset_reset="earliest", consumer_timeout_ms=15000, **o)
    got = 0
    deadline = time.monotonic() + 30
    for _ in c:
        got += 1
        if got >= n or time.monotonic() > deadline:
            break
    c.close()
    return got


def test_ssl_with_and_without_client_certificate(secure):
    _, pki, ports = secure
    assert round_trip(opts(ports, "SSL", security_protocol="SSL", ssl_cafile=pki.ca)) == 30
    mtls = opts(ports, "MTLS", security_protocol="SSL", ssl_cafile=pki.ca, ssl_certfile=pki.client_cert, ssl_keyfile=pki.client_key)
    assert round_trip(mtls) == 30


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_sasl_plaintext(secure, mechanism):
    _, _, ports = secure
    admin_opts = opts(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                      sasl_plain_username="admin", sasl_plain_password="admin-secret")
    user, password = "alice", "alice-secret"
    if mechanism.startswith("SCRAM"):
        from kafka.admin import ScramMechanism, UserScramCredentialUpsertion  # kafka-python 3

        a = KafkaAdminClient(**admin_opts)
        a.alter_user_scram_credentials([UserScramCredentialUpsertion("kp-user", ScramMechanism.SCRAM_SHA_256, "kp-secret", iterations=4096)])
        a.close()
        user, password = "kp-user", "kp-secret"
    o = opts(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
             sasl_plain_username=user, sasl_plain_password=password)
    assert round_trip(o) == 30


def test_sasl_ssl_scram_512_and_wrong_password(secure):
    _, pki, ports = secure
    from kafka.admin import ScramMechanism, UserScramCredentialUpsertion

    admin_opts = opts(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                      sasl_plain_username="admin", sasl_plain_password="admin-secret")
    a = KafkaAdminClient(**admin_opts)
    a.alter_user_scram_credentials([UserScramCredentialUpsertion("kp512", ScramMechanism.SCRAM_SHA_512, "kp512-secret", iterations=8192)])
    a.close()
    o = opts(ports, "SASL_SSL", security_protocol="SASL_SSL", ssl_cafile=pki.ca, sasl_mechanism="SCRAM-SHA-512",
             sasl_plain_username="kp512", sasl_plain_password="kp512-secret")
    assert round_trip(o) == 30
    with pytest.raises(KafkaError):
        KafkaAdminClient(**dict(o, sasl_plain_password="wrong")).list_topics()
