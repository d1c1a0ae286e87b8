"""Topic administration: Kafka AdminClient and the `strata topic` CLI."""

import re

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from strata_server import free_port


def admin_client(server):
    return AdminClient({"bootstrap.servers": server.bootstrap})


def partitions_in_metadata(admin, topic):
    md = admin.list_topics(timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return sorted(t.partitions)


def wait_result(future):
    return future.result(timeout=20)


def error_code_of(future):
    with pytest.raises(KafkaException) as info:
        future.result(timeout=20)
    return info.value.args[0].code()


def test_admin_client_create_describe_grow_delete(strata):
    admin = admin_client(strata)

    futures = admin.create_topics([NewTopic("adm-a", 3, 1, config={"retention.ms": "3600000"}),
                                   NewTopic("adm-b", 1, 1)], operation_timeout=10)
    for f in futures.values():
        wait_result(f)
    assert partitions_in_metadata(admin, "adm-a") == [0, 1, 2]
    assert partitions_in_metadata(admin, "adm-b") == [0]

    dup = admin.create_topics([NewTopic("adm-a", 2, 1)])["adm-a"]
    assert error_code_of(dup) == KafkaError.TOPIC_ALREADY_EXISTS
    bad = admin.create_topics([NewTopic("bad/name", 1, 1)])["bad/name"]
    assert error_code_of(bad) == KafkaError.TOPIC_EXCEPTION
    zero = admin.create_topics([NewTopic("adm-zero", 0, 1)])["adm-zero"]
    assert error_code_of(zero) == KafkaError.INVALID_PARTITIONS

    [described] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "adm-a")]).values()
    configs = wait_result(described)
    assert configs["retention.ms"].value == "3600000"
    assert "segment.bytes" in configs and int(configs["segment.bytes"].value) > 0

    wait_result(admin.create_partitions([NewPartitions("adm-a", 5)])["adm-a"])
    assert partitions_in_metadata(admin, "adm-a") == [0, 1, 2, 3, 4]
    shrink = admin.create_partitions([NewPartitions("adm-a", 2)])["adm-a"]
    assert error_code_of(shrink) == KafkaError.INVALID_PARTITIONS
    status, body = strata.describe_topic("adm-a")
    assert status == 200 and len(body["partitions"]) == 5

    wait_result(admin.delete_topics(["adm-a"], operation_timeout=10)["adm-a"])
    assert partitions_in_metadata(admin, "adm-a") is None
    assert strata.describe_topic("adm-a")[0] == 404
    missing = admin.delete_topics(["adm-never"])["adm-never"]
    assert error_code_of(missing) == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert partitions_in_metadata(admin, "adm-b") == [0]


def test_cli_topic_commands(strata):
    created = strata.cli("topic", "create", "cli-topic", "--partitions", "3")
    assert created.returncode == 0, created.stderr
    assert "cli-topic" in created.stdout and "3 partitions" in created.stdout, created.stdout

    again = strata.cli("topic", "create", "cli-topic", "--partitions", "3")
    assert again.returncode != 0, again.stdout
    assert "exist" in again.stderr.lower(), again.stderr

    listed = strata.cli("topic", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert any(row[:2] == ["cli-topic", "3"] for row in rows), listed.stdout

    described = strata.cli("topic", "describe", "cli-topic")
    assert described.returncode == 0, described.stderr
    partition_rows = [line.split() for line in described.stdout.splitlines() if re.match(r"^\s*\d+\s+\d+", line)]
    assert [row[0] for row in partition_rows] == ["0", "1", "2"], described.stdout
    assert "retention.ms" in described.stdout

    deleted = strata.cli("topic", "delete", "cli-topic")
    assert deleted.returncode == 0, deleted.stderr
    listed = strata.cli("topic", "list")
    assert "cli-topic" not in listed.stdout, listed.stdout

    missing = strata.cli("topic", "describe", "cli-topic")
    assert missing.returncode != 0
    assert "cli-topic" in missing.stderr, missing.stderr


def test_cli_reports_unreachable_admin_port(strata):
    port = free_port()
    result = strata.cli("topic", "list", "--admin", f"http://127.0.0.1:{port}", admin=False, timeout_s=30)
    assert result.returncode != 0, result.stdout
    assert result.stderr.strip(), "no error message on stderr"
    assert f"127.0.0.1:{port}" in result.stderr, f"the message does not name the address: {result.stderr}"
    assert "Traceback" not in result.stderr and "terminate called" not in result.stderr, result.stderr
