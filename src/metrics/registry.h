// A Prometheus registry: named families of labelled counters, gauges and
// histograms, plus collectors that compute values at scrape time. render()
// produces the text exposition format, version 0.0.4.
//
// Threading: every method is safe from any thread. A returned reference stays
// valid for the registry's lifetime, so hot paths look a child up once and keep
// the reference. Collectors run on the thread that calls render(), without the
// registry lock held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "metrics/metric.h"
#include "metrics/text_format.h"

namespace strata::metrics {

enum class metric_type { counter, gauge, histogram };
const char* metric_type_name(metric_type type);

struct registry_limits {
  size_t series_max = 100'000;              // labelled children handed out, over all families
  size_t collector_samples_max = 1'000'000; // samples all collectors together may add to one render
};

// Where a collector reports values it computes at scrape time. Invalid names,
// a type that conflicts with another metric of that name, a repeated series or
// samples past the limit are dropped and counted in strata_metrics_dropped_total.
class collector_sink {
 public:
  virtual ~collector_sink() = default;
  virtual void counter(std::string_view name, std::string_view help, const labels& set, double value) = 0;
  virtual void gauge(std::string_view name, std::string_view help, const labels& set, double value) = 0;
};

class registry {
 public:
  using collector = std::function<void(collector_sink&)>;
  using collector_id = uint64_t;

  explicit registry(registry_limits limits = {});
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // The child of family `name` with labels `set` (in any order), created on
  // first use. The first call's help text is kept. An invalid name or label, or
  // a name already used with another type (or other histogram bounds), is a bug
  // and asserts. Past series_max a detached child that is never rendered is
  // returned, and the drop is counted.
  metrics::counter& counter(std::string_view name, std::string_view help, const labels& set = {});
  metrics::gauge& gauge(std::string_view name, std::string_view help, const labels& set = {});
  metrics::histogram& histogram(std::string_view name, std::string_view help, const labels& set = {},
                                std::span<const double> upper_bounds = latency_ms_buckets);

  collector_id add_collector(collector fn);
  void remove_collector(collector_id id);

  // Families sorted by name, series sorted by label set.
  std::string render() const;

 private:
  struct family;
  struct sample;
  class sample_sink;

  family& family_locked(std::string_view name, std::string_view help, metric_type type,
                        std::span<const double> bounds);
  template <class T, class Make>
  T& child_locked(std::map<std::string, std::unique_ptr<T>>& children, std::unique_ptr<T>& detached,
                  const labels& set, std::string_view reserved_label, Make make);
  bool collides_locked(const sample& s) const;

  registry_limits limits_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
  std::map<collector_id, collector> collectors_;
  collector_id next_collector_id_ = 1;
  size_t series_ = 0;
  metrics::counter* dropped_ = nullptr;
};

}  // namespace strata::metrics
