"""ACLs against rk with confluent-kafka over SASL_PLAINTEXT, managed with `rk acls` and
with confluent-kafka's own admin API: a principal without ACLs is refused with Kafka's
authorization errors and sees no topics; `--producer` / `--consumer` grants let it work
(the idempotent producer included); a literal DENY beats a prefixed ALLOW."""

from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType)

from conftest import Broker, BrokerFactory, free_port, rk_bin, unique

JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required '
    'user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";'
)


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("rk-acl"))
    factory = BrokerFactory(root)
    sasl = free_port()
    b = Broker(f"{root}/data", overrides={
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": "0",
    })
    b.overrides["listeners"] = f"PLAINTEXT://127.0.0.1:{b.port},SASL_PLAINTEXT://127.0.0.1:{sasl}"
    factory.brokers.append(b)
    b.start()
    try:
        yield b, f"127.0.0.1:{sasl}"
    finally:
        factory.close()


def conf(bootstrap: str, user: str, **extra) -> dict:
    c = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
         "sasl.username": user, "sasl.password": f"{user}-secret", "socket.timeout.ms": 10000}
    c.update(extra)
    return c


def rk_acls(bootstrap: str, *args: str) -> str:
    props = ["--command-property", "security.protocol=SASL_PLAINTEXT", "--command-property", "sasl.mechanism=PLAIN",
             "--command-property", "sasl.username=admin", "--command-property", "sasl.password=admin-secret"]
    out = subprocess.run([rk_bin(), "acls", "--bootstrap-server", bootstrap, *props, *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def create_topic(bootstrap: str, topic: str):
    a = AdminClient(conf(bootstrap, "admin"))
    a.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)


def produce(c: dict, topic: str, n: int = 10) -> list:
    """Produces n records; returns the delivery errors (empty when all were acknowledged)."""
    errors = []
    p = Producer(dict(c, **{"message.timeout.ms": 8000}))
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(), on_delivery=lambda err, _m: err and errors.append(err))
    p.flush(15)
    return errors


def consume(c: dict, topic: str, group: str, n: int) -> tuple:
    """(records read, errors seen) within 20 s."""
    cons = Consumer(dict(c, **{"group.id": group, "auto.offset.reset": "earliest"}))
    cons.subscribe([topic])
    got, errors = 0, []
    deadline = time.monotonic() + 20
    while got < n and time.monotonic() < deadline:
        m = cons.poll(0.5)
        if m is None:
            continue
        if m.error():
            errors.append(m.error())
            if m.error().code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
                break
        else:
            got += 1
    cons.close()
    return got, errors


def test_without_acls_alice_is_refused_and_sees_nothing(acl_broker):
    _, bs = acl_broker
    topic = unique("acl")
    create_topic(bs, topic)
    alice = conf(bs, "alice")
    errs = produce(alice, topic)
    assert errs and all(e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errs), errs
    assert topic not in AdminClient(alice).list_topics(timeout=10).topics, "Metadata hides topics alice may not describe"
    assert topic in AdminClient(conf(bs, "admin")).list_topics(timeout=10).topics


def test_producer_and_consumer_grants_from_rk_acls(acl_broker):
    _, bs = acl_broker
    topic, group = unique("acl"), unique("g")
    create_topic(bs, topic)
    out = rk_acls(bs, "--add", "--allow-principal", "User:alice", "--producer", "--topic", topic)
    assert f"ResourcePattern(resourceType=TOPIC, name={topic}, patternType=LITERAL)" in out, out
    alice = conf(bs, "alice")
    assert produce(alice, topic) == []
    assert produce(dict(alice, **{"enable.idempotence": True}), topic) == [], "an idempotent producer needs only WRITE on the topic"
    got, errors = consume(alice, topic, group, 20)
    assert got == 0 and any(e.code() in (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED) for e in errors), errors
    rk_acls(bs, "--add", "--allow-principal", "User:alice", "--consumer", "--topic", topic, "--group", group)
    got, errors = consume(alice, topic, group, 20)
    assert got == 20, errors
    listed = rk_acls(bs, "--list", "--topic", topic)
    assert "principal=User:alice, host=*, operation=READ, permissionType=ALLOW" in listed, listed


def test_literal_deny_beats_prefixed_allow_through_the_admin_api(acl_broker):
    _, bs = acl_broker
    prefix = unique("app") + "-"
    open_t, secret_t = prefix + "open", prefix + "secret"
    for t in (open_t, secret_t):
        create_topic(bs, t)
    admin = AdminClient(conf(bs, "admin"))
    bindings = [
        AclBinding(ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, "User:bob", "*", AclOperation.WRITE, AclPermissionType.ALLOW),
        AclBinding(ResourceType.TOPIC, secret_t, ResourcePatternType.LITERAL, "User:bob", "*", AclOperation.WRITE, AclPermissionType.DENY),
    ]
    for f in admin.create_acls(bindings).values():
        f.result(timeout=15)
    found = admin.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:bob", None,
                                                 AclOperation.ANY, AclPermissionType.ANY)).result(timeout=15)
    assert len(found) == 2, found
    bob = conf(bs, "bob")
    assert produce(bob, open_t) == []
    errs = produce(bob, secret_t)
    assert errs and errs[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errs
    deleted = admin.delete_acls([AclBindingFilter(ResourceType.TOPIC, secret_t, ResourcePatternType.LITERAL, "User:bob", None,
                                                  AclOperation.ANY, AclPermissionType.DENY)])
    for f in deleted.values():
        assert len(f.result(timeout=15)) == 1
    assert produce(bob, secret_t) == [], "with the DENY removed the prefixed ALLOW applies"
    with pytest.raises(KafkaException):
        # bob may not manage ACLs (ALTER on the cluster).
        list(AdminClient(bob).create_acls(bindings[:1]).values())[0].result(timeout=15)
