#include "cpu_meter.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace strata::bench {

std::optional<cpu_times> parse_proc_stat(std::string_view text) {
  const std::string_view prefix = "cpu ";
  if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::istringstream in{std::string(text.substr(prefix.size(), text.find('\n')))};
  // user nice system idle iowait irq softirq steal
  uint64_t field[8] = {};
  for (uint64_t& f : field) {
    if (!(in >> f)) return std::nullopt;
  }
  cpu_times t;
  t.busy_ticks = field[0] + field[1] + field[2] + field[5] + field[6] + field[7];
  t.total_ticks = t.busy_ticks + field[3] + field[4];
  return t;
}

std::optional<cpu_times> read_cpu_times() {
  std::ifstream in("/proc/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return parse_proc_stat(line);
}

std::optional<cpu_usage> cpu_between(const std::optional<cpu_times>& before, const std::optional<cpu_times>& after) {
  if (!before || !after || after->total_ticks <= before->total_ticks || after->busy_ticks < before->busy_ticks) {
    return std::nullopt;
  }
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double busy = static_cast<double>(after->busy_ticks - before->busy_ticks);
  const double total = static_cast<double>(after->total_ticks - before->total_ticks);
  return cpu_usage{busy / total, busy / ticks_per_second};
}

}  // namespace strata::bench
