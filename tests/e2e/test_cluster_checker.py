"""The cluster tests' checker (cluster_checker.py) on synthetic histories:
no servers, fast."""

import threading

from cluster_checker import EXAMPLES, History, check, check_history


def acks(producer, partition, values, first_offset=0):
    return [(producer, partition, first_offset + i, v) for i, v in enumerate(values)]


def log(values, first_offset=0):
    return [(first_offset + i, v) for i, v in enumerate(values)]


def kinds(verdict):
    return [line.split(":")[0] for line in verdict.problems]


def test_a_clean_history_passes():
    acked = acks("a", 0, ["a-0", "a-1", "a-2"]) + acks("a", 1, ["a-3"])
    seen = [("c", 0, 0, "a-0"), ("c", 0, 2, "a-2"), ("c", 1, 0, "a-3")]
    v = check(acked, seen, {0: log(["a-0", "a-1", "a-2"]), 1: log(["a-3"])})
    assert v.ok, v.summary()
    assert (v.acked, v.seen, v.final) == (4, 3, 4)
    assert "every acknowledged record is there once" in v.summary()
    v.assert_ok()


def test_unacknowledged_records_may_or_may_not_be_there():
    # a-1 was never acknowledged (its delivery failed): present or absent is fine.
    acked = [("a", 0, 0, "a-0"), ("a", 0, 2, "a-2")]
    assert check(acked, [], {0: log(["a-0", "a-1", "a-2"])}).ok
    acked = [("a", 0, 0, "a-0"), ("a", 0, 1, "a-2")]
    assert check(acked, [], {0: log(["a-0", "a-2"])}).ok


def test_a_lost_acknowledged_record_is_named():
    acked = acks("a", 0, ["a-0", "a-1", "a-2"])
    v = check(acked, [], {0: log(["a-0", "a-2"])})
    assert not v.ok
    assert kinds(v) == ["lost", "moved"]  # a-2 was acknowledged at offset 2, now sits at 1
    assert "'a-1' acked at p0@1" in v.summary()
    try:
        v.assert_ok()
    except AssertionError as e:
        assert "lost: 1 acknowledged records are missing" in str(e)
    else:
        raise AssertionError("assert_ok passed on a lost record")


def test_a_lost_tail_is_lost_only():
    acked = acks("a", 0, ["a-0", "a-1", "a-2"])
    v = check(acked, [], {0: log(["a-0"])})
    assert kinds(v) == ["lost"]
    assert "2 acknowledged records are missing" in v.problems[0]


def test_a_whole_partition_missing_is_lost():
    v = check(acks("a", 3, ["a-0"]), [], {0: []})
    assert kinds(v) == ["lost"]
    assert "p3@0" in v.problems[0]


def test_a_duplicated_acknowledged_record():
    acked = acks("a", 0, ["a-0", "a-1"])
    v = check(acked, [], {0: log(["a-0", "a-1", "a-1"])})
    assert kinds(v) == ["duplicated"]
    assert "'a-1' at p0@[1, 2]" in v.problems[0]


def test_a_record_in_another_partition_is_lost_there():
    v = check([("a", 0, 0, "a-0")], [], {0: [], 1: log(["a-0"])})
    assert kinds(v) == ["lost"]


def test_a_moved_record():
    acked = [("a", 0, 5, "a-0")]
    v = check(acked, [], {0: log(["x", "a-0"])})
    assert kinds(v) == ["moved"]
    assert "acked at p0@5, found at [1]" in v.problems[0]


def test_an_unknown_acknowledged_offset_is_not_a_move():
    assert check([("a", 0, -1, "a-0")], [], {0: log(["a-0"])}).ok


def test_records_of_one_producer_out_of_acknowledgement_order():
    acked = [("a", 0, 1, "a-0"), ("a", 0, 0, "a-1")]
    v = check(acked, [], {0: log(["a-1", "a-0"])})
    assert "reordered" in kinds(v)
    assert "'a-1' (acked after 'a-0') at p0@0, before it at @1" in v.summary()


def test_two_producers_may_interleave():
    acked = [("a", 0, 0, "a-0"), ("b", 0, 1, "b-0"), ("b", 0, 2, "b-1"), ("a", 0, 3, "a-1")]
    # The acks of two producers arrive in any order relative to each other.
    acked_reordered = [acked[1], acked[2], acked[0], acked[3]]
    final = {0: log(["a-0", "b-0", "b-1", "a-1"])}
    assert check(acked, [], final).ok
    assert check(acked_reordered, [], final).ok


def test_orders_are_per_partition():
    acked = [("a", 0, 3, "a-0"), ("a", 1, 0, "a-1"), ("a", 0, 4, "a-2")]
    assert check(acked, [], {0: log(["x", "y", "z", "a-0", "a-2"]), 1: log(["a-1"])}).ok


def test_a_seen_record_that_disappears():
    seen = [("c1", 0, 0, "a-0"), ("c1", 0, 1, "a-1"), ("c2", 0, 1, "a-1")]
    v = check([], seen, {0: log(["a-0"])})
    assert kinds(v) == ["seen, then gone"]
    assert "1 records a consumer saw" in v.problems[0]  # reported once, not per consumer
    assert "'a-1' seen by c1 at p0@1" in v.problems[0]


def test_a_seen_offset_that_now_holds_another_value():
    seen = [("c1", 0, 1, "a-1")]
    v = check([], seen, {0: log(["a-0", "b-7"])})
    assert kinds(v) == ["seen, then changed"]
    assert "p0@1 was 'a-1' for c1, is 'b-7'" in v.problems[0]


def test_seen_unacknowledged_records_must_stay_too():
    # A consumer saw a-1 although its producer never got the ack (timed out):
    # it was committed, so it must stay.
    acked = [("a", 0, 0, "a-0")]
    seen = [("c", 0, 0, "a-0"), ("c", 0, 1, "a-1")]
    assert check(acked, seen, {0: log(["a-0", "a-1"])}).ok
    assert kinds(check(acked, seen, {0: log(["a-0"])})) == ["seen, then gone"]


def test_consumers_seeing_records_again_is_fine():
    seen = [("c", 0, 0, "a-0"), ("c", 0, 1, "a-1"), ("c", 0, 0, "a-0"), ("c", 0, 1, "a-1")]
    assert check([], seen, {0: log(["a-0", "a-1"])}).ok


def test_a_value_acknowledged_twice_is_a_test_bug():
    acked = [("a", 0, 0, "a-0"), ("a", 0, 0, "a-0")]
    v = check(acked, [], {0: log(["a-0"])})
    assert "acked twice" in kinds(v)


def test_the_message_lists_the_first_few_cases():
    values = [f"a-{i}" for i in range(EXAMPLES + 7)]
    v = check(acks("a", 0, values), [], {0: []})
    assert kinds(v) == ["lost"]
    line = v.problems[0]
    assert f"lost: {EXAMPLES + 7} " in line
    assert "'a-0' acked at p0@0" in line and f"'a-{EXAMPLES - 1}'" in line
    assert f"'a-{EXAMPLES}'" not in line
    assert "(7 more)" in line


def test_every_kind_at_once():
    acked = [("a", 0, 0, "a-0"), ("a", 0, 1, "a-1"), ("a", 0, 2, "a-2"), ("a", 0, 3, "a-3")]
    seen = [("c", 0, 4, "b-0"), ("c", 0, 1, "zz")]
    final = {0: log(["a-0", "a-3", "a-2", "a-2"])}
    v = check(acked, seen, final)
    assert kinds(v) == ["lost", "duplicated", "moved", "reordered", "seen, then gone", "seen, then changed"]


def test_bytes_values_work_too():
    assert check([("a", 0, 0, b"a-0")], [("c", 0, 0, b"a-0")], {0: [(0, b"a-0")]}).ok
    assert not check([("a", 0, 0, b"a-0")], [], {0: [(0, b"a-1")]}).ok


def test_history_from_many_threads():
    h = History()

    def producer(name, partition):
        for i in range(1000):
            h.ack(name, partition, i, f"{name}-{i}")

    threads = [threading.Thread(target=producer, args=(f"p{i}", i)) for i in range(4)]
    for t in threads:
        t.start()
    for i in range(500):
        h.saw("c", 0, i, f"p0-{i}")
    h.fail("p9", 0, "p9-0", "timed out")
    for t in threads:
        t.join()
    assert h.acked_count() == 4000
    assert h.acked_count(partition=2) == 1000
    assert h.acked_count(producer="p3") == 1000
    assert h.seen_count(0) == 500 and h.max_seen_offset(0) == 499 and h.max_seen_offset(1) == -1
    final = {i: [(o, f"p{i}-{o}") for o in range(1000)] for i in range(4)}
    v = check_history(h, final)
    assert v.ok, v.summary()
    assert (v.acked, v.seen, v.final) == (4000, 500, 4000)
    _, failed, _ = h.snapshot()
    assert failed == [("p9", 0, "p9-0", "timed out")]
