"""The secured broker the security interop suites share: five listeners (PLAINTEXT, SSL
with client certificates requested, MTLS required, SASL_PLAINTEXT with PLAIN and SCRAM and
3 s sessions, SASL_SSL with PLAIN, SCRAM-SHA-512 and OAUTHBEARER), certificates from trustme."""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustme

from conftest import Broker, BrokerFactory, free_port

PLAIN_JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" '
    'user_admin="admin-secret" user_alice="alice-secret";'
)


class Pki:
    def __init__(self, root: Path):
        self.root = root
        ca = trustme.CA(organization_name="rk-test")
        other = trustme.CA(organization_name="untrusted")
        server = ca.issue_cert("localhost", "127.0.0.1")
        client = ca.issue_cert("alice@example.com", common_name="alice")
        mallory = other.issue_cert("mallory@example.com", common_name="mallory")
        self.ca = self._write("ca.pem", ca.cert_pem.bytes())
        self.other_ca = self._write("other-ca.pem", other.cert_pem.bytes())
        self.server = self._write("server.pem", server.private_key_and_cert_chain_pem.bytes())
        self.client_cert = self._write("client.pem", b"".join(b.bytes() for b in client.cert_chain_pems))
        self.client_key = self._write("client.key", client.private_key_pem.bytes())
        self.mallory_cert = self._write("mallory.pem", b"".join(b.bytes() for b in mallory.cert_chain_pems))
        self.mallory_key = self._write("mallory.key", mallory.private_key_pem.bytes())

    def _write(self, name: str, data: bytes) -> str:
        p = self.root / name
        p.write_bytes(data)
        return str(p)


def secure_broker():
    root = Path(tempfile.mkdtemp(prefix="rk-sec-"))
    pki = Pki(root)
    ports = {n: free_port() for n in ("SSL", "MTLS", "SASL_PLAINTEXT", "SASL_SSL")}
    factory = BrokerFactory(str(root))
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:{plain},"
        + ",".join(f"{n}://127.0.0.1:{p}" for n, p in ports.items()),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "ssl.keystore.location": pki.server,
        "ssl.truststore.location": pki.ca,
        "listener.name.ssl.ssl.client.auth": "requested",
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_plaintext.connections.max.reauth.ms": "3000",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512,OAUTHBEARER",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
        "group.initial.rebalance.delay.ms": "0",
    }
    # The harness's --listen port is the PLAINTEXT one; `listeners` names all five.
    data = tempfile.mkdtemp(prefix="data-", dir=str(root))
    b = Broker(data, overrides=overrides)
    b.overrides["listeners"] = overrides["listeners"].format(plain=b.port)
    factory.brokers.append(b)
    b.start()
    try:
        yield b, pki, ports
    finally:
        factory.close()
