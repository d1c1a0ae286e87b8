"""A consume-transform-produce worker with exactly-once semantics (KIP-98/447),
the classic confluent-kafka loop: read a batch of the input with
read_committed, write one output record per input record inside a
transaction, send the consumed offsets to that transaction, commit.

Run by test_kafka_transactions.py as a separate process so that it can be
killed with SIGKILL mid-transaction. Prints "committed N" after each commit.

usage: txn_worker.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID IDLE_EXIT_S
"""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer

BATCH = 50


def main():
    bootstrap, source, sink, group, txn_id, idle_exit_s = sys.argv[1:7]
    idle_exit_s = float(idle_exit_s)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 6000})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 10000, "linger.ms": 5})
    producer.init_transactions(30)
    consumer.subscribe([source])
    committed = 0
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_exit_s:
        msgs = [m for m in consumer.consume(BATCH, 0.5) if not m.error()]
        if not msgs:
            continue
        idle_since = time.monotonic()
        producer.begin_transaction()
        for m in msgs:
            producer.produce(sink, key=m.key(), value=b"out:" + m.value())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 30)
        try:
            producer.commit_transaction(30)
        except KafkaException as e:
            if not e.args[0].txn_requires_abort():
                raise
            producer.abort_transaction(30)
            # Rewind to the last committed offsets and process again.
            for tp in consumer.committed(consumer.assignment(), 30):
                if tp.offset < 0:
                    tp.offset = OFFSET_BEGINNING
                consumer.seek(tp)
            continue
        committed += 1
        print(f"committed {committed}", flush=True)
    consumer.close()
    print("idle: done", flush=True)


if __name__ == "__main__":
    main()
