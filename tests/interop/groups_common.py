"""Shared by the group interop suites (confluent-kafka and kafka-python): the group
broker's overrides and the waits/checks on a set of members. A member is any object
with `name`, `snapshot()` -> (assignment, records, events, errors) and `keys()`."""

from __future__ import annotations

import time
from collections import Counter

from util import wait_until

GROUP_OVERRIDES = {"group.initial.rebalance.delay.ms": 100}
SETTLE = 30.0  # upper bound for a group to (re)balance


def wait_split(ms, topic, partitions, sizes, timeout=SETTLE):
    """Waits until the members' assignments are disjoint, cover every partition, and have
    the given sizes (sorted); returns the assignments."""

    def check():
        asg = [m.snapshot()[0] for m in ms]
        union = set().union(*asg)
        if sum(len(a) for a in asg) != len(union):
            return None
        if union != {(topic, p) for p in range(partitions)}:
            return None
        if sorted(len(a) for a in asg) != sorted(sizes):
            return None
        return asg

    try:
        return wait_until(check, timeout=timeout, interval=0.1, message="assignments to settle")
    except AssertionError as e:
        now = {m.name: sorted(m.snapshot()[0]) for m in ms}
        raise AssertionError(f"{e}; assignments now: {now}; errors: {[m.snapshot()[3] for m in ms]}") from None


def wait_consumed(ms, expected_keys, timeout=SETTLE):
    """Waits until the group consumed at least every expected key; returns all consumed keys."""

    def check():
        got = [k for m in ms for k in m.keys()]
        return got if set(expected_keys) <= set(got) else None

    try:
        wait_until(check, timeout=timeout, interval=0.1, message="records to be consumed")
    except AssertionError:
        got = [k for m in ms for k in m.keys()]
        missing = sorted(set(expected_keys) - set(got))
        raise AssertionError(f"{len(missing)} records never consumed, e.g. {missing[:10]}") from None
    time.sleep(0.5)  # catch stragglers: anything read twice or beyond what was produced
    return [k for m in ms for k in m.keys()]


def assert_exactly_once(consumed_keys, expected):
    counts = Counter(consumed_keys)
    dups = sorted(k for k, n in counts.items() if n > 1)
    assert not dups, f"{len(dups)} records consumed more than once, e.g. {dups[:10]}"
    extra = sorted(set(counts) - set(expected))
    assert not extra, f"consumed records nobody produced: {extra[:10]}"
    missing = sorted(set(expected) - set(counts))
    assert not missing, f"{len(missing)} records lost, e.g. {missing[:10]}"
