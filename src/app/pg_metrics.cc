#include "app/pg_metrics.h"

#include <string>

namespace strata::app {

pgwire::server_observer make_pg_observer(metrics::registry& registry) {
  auto& sessions = registry.counter("strata_pg_sessions_total", "PostgreSQL sessions that finished startup");
  auto& statements = registry.counter("strata_pg_statements_total", "SQL statements executed over PostgreSQL");
  pgwire::server_observer observer;
  observer.on_session = [&sessions] { sessions.inc(); };
  observer.on_statements = [&statements](uint64_t count) { statements.inc(count); };
  // The SQLSTATE class (its first two characters) keeps the label set small and bounded.
  observer.on_error = [&registry](std::string_view sqlstate) {
    registry
        .counter("strata_pg_errors_total", "ErrorResponses sent, by SQLSTATE class",
                 {{"class", std::string(sqlstate.substr(0, 2))}})
        .inc();
  };
  observer.on_rejection = [&registry](std::string_view why) {
    registry
        .counter("strata_pg_rejected_connections_total", "PostgreSQL connections closed by the server, by reason",
                 {{"reason", std::string(why)}})
        .inc();
  };
  return observer;
}

}  // namespace strata::app
