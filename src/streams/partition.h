// One Kafka partition on the network thread: its log, idempotent-producer
// state, the produce requests waiting for durability and the fetches waiting
// for new data. Shared with the flusher thread, which only calls log->flush().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "storage/log.h"
#include "streams/producer_state.h"

namespace strata::streams {

struct partition {
  std::string topic;
  int32_t id = 0;
  std::string dir;
  std::unique_ptr<storage::log> log;
  producer_state producers;

  struct durable_waiter {
    int64_t next_offset;                  // complete once the log is durable up to here
    std::function<void(bool ok)> done;    // ok=false if the flush failed or the partition went away
  };
  std::deque<durable_waiter> durable_waiters;  // in offset order
  std::map<uint64_t, std::function<void()>> watchers;
  int64_t published_high_watermark = 0;  // the last high watermark announced to watchers
  bool flush_requested = false;          // a flush is queued and not yet completed
  bool failed = false;                   // a flush failed: refuse writes until restart
  bool deleted = false;
};

}  // namespace strata::streams
