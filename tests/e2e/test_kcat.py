"""kcat (librdkafka's command-line client) produces and consumes through strata."""

import json
import subprocess
from collections import defaultdict

RECORDS = 10_000
PARTITIONS = 3
HEADERS = [("source", "e2e"), ("trace", "t-42"), ("empty", "")]


def kcat(server, *args, stdin=None, timeout_s=90):
    cmd = ["kcat", "-b", server.bootstrap, "-X", "api.version.request=true", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout_s)


def test_kcat_round_trip_keyed_records_with_headers(strata):
    topic = "kcat-roundtrip"
    strata.create_topic(topic, PARTITIONS)

    lines = "".join(f"key-{i:05d}:value-{i:05d}-{'x' * (i % 50)}\n" for i in range(RECORDS))
    header_args = [a for k, v in HEADERS for a in ("-H", f"{k}={v}")]
    produced = kcat(strata, "-P", "-t", topic, "-K:", *header_args, "-X", "acks=all", stdin=lines.encode())
    assert produced.returncode == 0, f"kcat -P failed: {produced.stderr.decode()}"
    assert b"ERROR" not in produced.stderr and b"Failed" not in produced.stderr, produced.stderr.decode()

    consumed = kcat(strata, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                    "-f", "%p|%o|%k|%h|%s\n")
    assert consumed.returncode == 0, f"kcat -C failed: {consumed.stderr.decode()}"

    expected_headers = ",".join(f"{k}={v}" for k, v in HEADERS)
    seen = {}
    per_partition = defaultdict(list)  # partition -> [(offset, seq)]
    for line in consumed.stdout.decode().splitlines():
        partition, offset, key, headers, value = line.split("|", 4)
        seq = int(key.removeprefix("key-"))
        assert key not in seen, f"{key} consumed twice (partition {partition} offset {offset})"
        seen[key] = value
        assert value == f"value-{seq:05d}-{'x' * (seq % 50)}", f"{key} has value {value!r}"
        assert headers == expected_headers, f"{key} has headers {headers!r}"
        per_partition[int(partition)].append((int(offset), seq))

    missing = [i for i in range(RECORDS) if f"key-{i:05d}" not in seen]
    assert not missing, f"{len(missing)} records missing, first {missing[:10]}"
    assert len(seen) == RECORDS
    assert set(per_partition) == set(range(PARTITIONS)), f"records landed in partitions {sorted(per_partition)}"
    for partition, rows in per_partition.items():
        offsets = [o for o, _ in rows]
        assert offsets == list(range(len(rows))), f"partition {partition}: offsets are not 0..{len(rows) - 1}"
        seqs = [s for _, s in rows]
        assert seqs == sorted(seqs), f"partition {partition}: records are out of produce order"


def test_kcat_metadata_lists_topic_partitions(strata):
    strata.create_topic("kcat-meta", 4)
    listed = kcat(strata, "-L", "-t", "kcat-meta", "-J")
    assert listed.returncode == 0, listed.stderr.decode()
    meta = json.loads(listed.stdout)
    topics = {t["topic"]: t for t in meta["topics"]}
    assert "kcat-meta" in topics
    assert sorted(p["partition"] for p in topics["kcat-meta"]["partitions"]) == [0, 1, 2, 3]
    assert [b["id"] for b in meta["brokers"]] == [topics["kcat-meta"]["partitions"][0]["leader"]]
    assert meta["brokers"][0]["name"] == strata.bootstrap
