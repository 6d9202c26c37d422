"""TLS and SASL against rk with confluent-kafka (librdkafka) and its default settings.

One broker per module with five listeners: PLAINTEXT (the harness's port), SSL (client
certificates requested), MTLS (required), SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256/512;
sessions of 3 s so clients must re-authenticate, KIP-368) and SASL_SSL (PLAIN, SCRAM,
OAUTHBEARER with unsecured development tokens). Certificates come from `trustme`.
Refused clients must see Kafka's errors and get nothing served.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from conftest import unique
from security_common import secure_broker
from util import wait_until

@pytest.fixture(scope="module")
def secure():
    yield from secure_broker()


def conf(ports, listener: str, **extra) -> dict:
    c = {"bootstrap.servers": f"127.0.0.1:{ports[listener]}", "socket.timeout.ms": 10000}
    c.update({k.replace("_", "."): v for k, v in extra.items()})
    return c


def ssl(pki, ports, listener="SSL", **extra) -> dict:
    return conf(ports, listener, security_protocol="SSL", ssl_ca_location=pki.ca, **extra)


def round_trip(c: dict, n: int = 50) -> int:
    """Creates a topic, produces n records and consumes them back over `c`; returns the count."""
    topic = unique("sec")
    a = AdminClient(c)  # kept alive until the result is in
    a.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=15)
    p = Producer(dict(c, **{"linger.ms": 5}))
    for i in range(n):
        p.produce(topic, key=b"k", value=f"v{i}".encode())
    assert p.flush(20) == 0
    cons = Consumer(dict(c, **{"group.id": unique("g"), "auto.offset.reset": "earliest"}))
    cons.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 30
    while got < n and time.monotonic() < deadline:
        m = cons.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    cons.close()
    return got


def refused(c: dict) -> KafkaException:
    """Metadata through `c` must fail; returns the error."""
    with pytest.raises(KafkaException) as e:
        AdminClient(c).list_topics(timeout=6)
    return e.value


def auth_errors(c: dict, text: str) -> list:
    """The _AUTHENTICATION errors a producer with `c` reports (through error_cb, served by
    poll); at least one must carry `text` from the broker's message."""
    errors = []
    p = Producer(dict(c, **{"error_cb": errors.append}))
    wait_until(lambda: p.poll(0.2) is not None and [e for e in errors if e.code() == KafkaError._AUTHENTICATION], timeout=15, message="an authentication error")
    found = [e for e in errors if e.code() == KafkaError._AUTHENTICATION and text in e.str()]
    assert found, errors
    return found


def topic_names(c: dict) -> set:
    return set(AdminClient(c).list_topics(timeout=10).topics)


def test_ssl_round_trip_without_client_certificate(secure):
    _, pki, ports = secure
    assert round_trip(ssl(pki, ports)) == 50


def test_mtls_round_trip_with_client_certificate(secure):
    _, pki, ports = secure
    c = ssl(pki, ports, "MTLS", ssl_certificate_location=pki.client_cert, ssl_key_location=pki.client_key)
    assert round_trip(c) == 50


def test_mtls_refuses_clients_without_or_with_foreign_certificates(secure):
    _, pki, ports = secure
    refused(ssl(pki, ports, "MTLS"))
    refused(ssl(pki, ports, "MTLS", ssl_certificate_location=pki.mallory_cert, ssl_key_location=pki.mallory_key))


def test_untrusted_server_certificate_and_plaintext_clients_are_refused(secure):
    _, pki, ports = secure
    e = refused(conf(ports, "SSL", security_protocol="SSL", ssl_ca_location=pki.other_ca))
    assert e.args[0].code() in (KafkaError._TRANSPORT, KafkaError._SSL, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN), e
    refused(conf(ports, "SSL"))


def test_sasl_plain_round_trip_and_wrong_password(secure):
    b, _, ports = secure
    good = conf(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="alice", sasl_password="alice-secret")
    assert round_trip(good) == 50
    bad = dict(good, **{"sasl.password": "wrong"})
    e = refused(bad)
    # librdkafka reports SASL failures as _AUTHENTICATION with the broker's message.
    assert auth_errors(bad, "Invalid username or password")
    topic = unique("never")
    a = AdminClient(bad)
    fs = a.create_topics([NewTopic(topic, 1, 1)], operation_timeout=5, request_timeout=5)
    with pytest.raises(Exception):
        fs[topic].result(timeout=10)
    assert topic not in topic_names(good), "a refused client's request was not served"
    assert e is not None


def test_scram_credentials_created_through_the_admin_api_authenticate(secure):
    _, pki, ports = secure
    admin_conf = conf(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="admin", sasl_password="admin-secret")
    a = AdminClient(admin_conf)
    ups = [
        UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"carol-secret"),
        UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-secret-512"),
    ]
    for f in a.alter_user_scram_credentials(ups).values():
        f.result(timeout=15)
    described = {u: f.result(timeout=15) for u, f in a.describe_user_scram_credentials(["carol"]).items()}
    mechs = sorted((i.mechanism, i.iterations) for i in described["carol"].scram_credential_infos)
    assert mechs == [(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)]

    s256 = conf(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256", sasl_username="carol", sasl_password="carol-secret")
    assert round_trip(s256) == 50
    s512 = conf(ports, "SASL_SSL", security_protocol="SASL_SSL", ssl_ca_location=pki.ca, sasl_mechanism="SCRAM-SHA-512", sasl_username="carol", sasl_password="carol-secret-512")
    assert round_trip(s512) == 50
    refused(dict(s256, **{"sasl.password": "carol-secret-512"}))
    refused(dict(s256, **{"sasl.username": "nobody"}))


def test_oauthbearer_unsecured_tokens(secure):
    _, pki, ports = secure
    base = conf(ports, "SASL_SSL", security_protocol="SASL_SSL", ssl_ca_location=pki.ca, sasl_mechanism="OAUTHBEARER")
    good = dict(base, **{"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": "principal=dave"})
    assert round_trip(good) == 50

    def expired_token(_config):
        import base64
        import json

        enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        now = int(time.time())
        token = f"{enc({'alg': 'none'})}.{enc({'sub': 'dave', 'iat': now - 7200, 'exp': now - 3600})}."
        # librdkafka refuses to use a token it knows has expired; claim it is still valid.
        return token, time.time() + 3600

    assert auth_errors(dict(base, **{"oauth_cb": expired_token}), "expired")


def test_clients_reauthenticate_when_the_session_lifetime_ends(secure):
    """connections.max.reauth.ms=3000: a consumer that keeps reading for 10 s must
    re-authenticate on its connections (KIP-368) instead of being cut off."""
    _, _, ports = secure
    c = conf(ports, "SASL_PLAINTEXT", security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="alice", sasl_password="alice-secret")
    topic = unique("reauth")
    a = AdminClient(c)
    a.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)
    p = Producer(dict(c, **{"linger.ms": 0}))
    cons = Consumer(dict(c, **{"group.id": unique("g"), "auto.offset.reset": "earliest"}))
    cons.subscribe([topic])
    sent = got = 0
    end = time.monotonic() + 10
    while time.monotonic() < end:
        p.produce(topic, value=f"r{sent}".encode())
        sent += 1
        p.poll(0)
        m = cons.poll(0.2)
        if m is not None and m.error() is None:
            got += 1
    assert p.flush(15) == 0
    deadline = time.monotonic() + 15
    while got < sent and time.monotonic() < deadline:
        m = cons.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    cons.close()
    assert got == sent, f"consumed {got} of {sent} across re-authentications"
