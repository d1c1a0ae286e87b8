#include "metrics/registry.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace strata::metrics {

const char* metric_type_name(metric_type type) {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

struct registry::family {
  std::string help;
  metric_type type = metric_type::counter;
  std::vector<double> bounds;  // histograms only
  std::map<std::string, std::unique_ptr<metrics::counter>> counters;
  std::map<std::string, std::unique_ptr<metrics::gauge>> gauges;
  std::map<std::string, std::unique_ptr<metrics::histogram>> histograms;
  std::unique_ptr<metrics::counter> detached_counter;
  std::unique_ptr<metrics::gauge> detached_gauge;
  std::unique_ptr<metrics::histogram> detached_histogram;

  bool has_series(const std::string& key) const {
    return counters.contains(key) || gauges.contains(key) || histograms.contains(key);
  }
};

struct registry::sample {
  std::string name;
  std::string help;
  metric_type type;
  std::string key;
  double value;
};

// Collects, validates and bounds what collectors report during one render.
class registry::sample_sink final : public collector_sink {
 public:
  explicit sample_sink(size_t samples_max) : samples_max_(samples_max) {}

  void counter(std::string_view name, std::string_view help, const labels& set, double value) override {
    add(name, help, metric_type::counter, set, value);
  }
  void gauge(std::string_view name, std::string_view help, const labels& set, double value) override {
    add(name, help, metric_type::gauge, set, value);
  }

  std::vector<sample> samples;
  uint64_t dropped = 0;

 private:
  void add(std::string_view name, std::string_view help, metric_type type, const labels& set, double value) {
    if (samples.size() >= samples_max_ || !valid_metric_name(name) || !valid_labels(set)) {
      ++dropped;
      return;
    }
    auto [it, inserted] = types_.emplace(std::string(name), type);
    std::string key = label_key(set);
    if (it->second != type || !series_.insert(std::string(name) + '{' + key).second) {
      ++dropped;
      return;
    }
    samples.push_back(sample{std::string(name), std::string(help), type, std::move(key), value});
  }

  size_t samples_max_;
  std::map<std::string, metric_type> types_;
  std::set<std::string> series_;
};

registry::registry(registry_limits limits) : limits_(limits) {
  dropped_ = &counter("strata_metrics_dropped_total",
                      "Series or samples the metrics registry discarded: past its limits, or with an invalid "
                      "or conflicting name. Each one is a bug or a cardinality problem to fix.");
}

registry::~registry() = default;

registry::family& registry::family_locked(std::string_view name, std::string_view help, metric_type type,
                                          std::span<const double> bounds) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    STRATA_ASSERT(valid_metric_name(name), "metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    auto fam = std::make_unique<family>();
    fam->help = std::string(help);
    fam->type = type;
    fam->bounds.assign(bounds.begin(), bounds.end());
    it = families_.emplace(std::string(name), std::move(fam)).first;
  }
  family& fam = *it->second;
  STRATA_ASSERT(fam.type == type, "a metric name is registered twice with different types");
  STRATA_ASSERT(std::equal(fam.bounds.begin(), fam.bounds.end(), bounds.begin(), bounds.end()),
                "a histogram is registered twice with different bucket bounds");
  return fam;
}

template <class T, class Make>
T& registry::child_locked(std::map<std::string, std::unique_ptr<T>>& children, std::unique_ptr<T>& detached,
                          const labels& set, std::string_view reserved_label, Make make) {
  STRATA_ASSERT(valid_labels(set, reserved_label), "label names must be valid, distinct and not reserved");
  std::string key = label_key(set);
  auto it = children.find(key);
  if (it != children.end()) return *it->second;
  if (series_ >= limits_.series_max) {
    dropped_->inc();
    if (!detached) detached = make();
    return *detached;
  }
  ++series_;
  return *children.emplace(std::move(key), make()).first->second;
}

metrics::counter& registry::counter(std::string_view name, std::string_view help, const labels& set) {
  std::lock_guard lock(mu_);
  family& fam = family_locked(name, help, metric_type::counter, {});
  return child_locked(fam.counters, fam.detached_counter, set, {},
                      [] { return std::make_unique<metrics::counter>(); });
}

metrics::gauge& registry::gauge(std::string_view name, std::string_view help, const labels& set) {
  std::lock_guard lock(mu_);
  family& fam = family_locked(name, help, metric_type::gauge, {});
  return child_locked(fam.gauges, fam.detached_gauge, set, {}, [] { return std::make_unique<metrics::gauge>(); });
}

metrics::histogram& registry::histogram(std::string_view name, std::string_view help, const labels& set,
                                        std::span<const double> upper_bounds) {
  std::lock_guard lock(mu_);
  family& fam = family_locked(name, help, metric_type::histogram, upper_bounds);
  return child_locked(fam.histograms, fam.detached_histogram, set, "le",
                      [&] { return std::make_unique<metrics::histogram>(upper_bounds); });
}

registry::collector_id registry::add_collector(collector fn) {
  std::lock_guard lock(mu_);
  collector_id id = next_collector_id_++;
  collectors_.emplace(id, std::move(fn));
  return id;
}

void registry::remove_collector(collector_id id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

bool registry::collides_locked(const sample& s) const {
  auto it = families_.find(s.name);
  return it != families_.end() && (it->second->type != s.type || it->second->has_series(s.key));
}

namespace {

struct text_family {
  std::string help;
  metric_type type = metric_type::counter;
  std::map<std::string, std::string> series;  // label key -> sample lines
};

std::string histogram_lines(const std::string& name, const std::string& key, const histogram::snapshot& snap) {
  std::string lines;
  for (size_t i = 0; i < snap.upper_bounds.size(); ++i) {
    std::string le = "le=\"" + format_value(snap.upper_bounds[i]) + "\"";
    lines += sample_line(name + "_bucket", key, le, std::to_string(snap.cumulative_counts[i]));
  }
  lines += sample_line(name + "_bucket", key, "le=\"+Inf\"", std::to_string(snap.count));
  lines += sample_line(name + "_sum", key, "", format_value(snap.sum));
  lines += sample_line(name + "_count", key, "", std::to_string(snap.count));
  return lines;
}

void render_family(const std::string& name, const text_family& fam, std::string& out) {
  if (fam.series.empty()) return;
  out += "# HELP " + name + " " + escape_help(fam.help) + "\n";
  out += "# TYPE " + name + " " + metric_type_name(fam.type) + "\n";
  for (const auto& [key, lines] : fam.series) out += lines;
}

}  // namespace

std::string registry::render() const {
  std::vector<collector> fns;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, fn] : collectors_) fns.push_back(fn);
  }
  sample_sink sink(limits_.collector_samples_max);
  for (const auto& fn : fns) fn(sink);

  std::map<std::string, text_family> text;
  std::lock_guard lock(mu_);
  uint64_t dropped = sink.dropped;
  std::erase_if(sink.samples, [&](const sample& s) { return collides_locked(s) ? (++dropped, true) : false; });
  if (dropped > 0) dropped_->inc(dropped);

  for (const auto& [name, fam] : families_) {
    text_family& t = text[name];
    t.help = fam->help;
    t.type = fam->type;
    for (const auto& [key, c] : fam->counters) t.series[key] = sample_line(name, key, "", std::to_string(c->value()));
    for (const auto& [key, g] : fam->gauges) t.series[key] = sample_line(name, key, "", format_value(g->value()));
    for (const auto& [key, h] : fam->histograms) t.series[key] = histogram_lines(name, key, h->read());
  }
  for (const sample& s : sink.samples) {
    auto [it, inserted] = text.try_emplace(s.name);
    if (inserted) {
      it->second.help = s.help;
      it->second.type = s.type;
    }
    it->second.series[s.key] = sample_line(s.name, s.key, "", format_value(s.value));
  }

  std::string out;
  for (const auto& [name, fam] : text) render_family(name, fam, out);
  return out;
}

}  // namespace strata::metrics
