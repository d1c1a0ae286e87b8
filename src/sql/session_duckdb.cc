// Running statements on the session's DuckDB connection: preparing (typing
// the parameters DuckDB cannot type from their use), binding parameters,
// executing, running a statement again after stale statistics, and
// collecting results into table rows.
#include <charconv>
#include <functional>

#include <fmt/format.h>

#include "duckdb/main/prepared_statement_data.hpp"
#include "duckdb/parser/expression/cast_expression.hpp"
#include "duckdb/parser/expression/parameter_expression.hpp"
#include "duckdb/parser/parsed_expression_iterator.hpp"
#include "duckdb/parser/statement/select_statement.hpp"
#include "sql/pg_types.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {

namespace {

// The type the client declared for parameter `name` ($n) in Parse, if any.
std::optional<duckdb::LogicalType> hinted_type(const std::string& name, const std::vector<uint32_t>& hints) {
  size_t n = 0;
  std::from_chars(name.data(), name.data() + name.size(), n);
  tables::column_type hinted;
  if (n < 1 || n > hints.size() || hints[n - 1] == 0 || !column_type_of_oid(hints[n - 1], hinted)) return std::nullopt;
  return to_duckdb_type(hinted);
}

// Casts the parameters of `node` to the type the client declared for each,
// and (with `text_for_the_rest`) the others to text, as PostgreSQL types a
// parameter it cannot infer.
void cast_parameters(duckdb::QueryNode& node, const std::vector<uint32_t>& hints, bool text_for_the_rest) {
  std::function<void(duckdb::unique_ptr<duckdb::ParsedExpression>&)> visit = [&](duckdb::unique_ptr<duckdb::ParsedExpression>& e) {
    if (e->GetExpressionClass() != duckdb::ExpressionClass::PARAMETER) {
      duckdb::ParsedExpressionIterator::EnumerateChildren(*e, visit);
      return;
    }
    auto type = hinted_type(e->Cast<duckdb::ParameterExpression>().identifier, hints);
    if (!type && !text_for_the_rest) return;
    e = duckdb::make_uniq<duckdb::CastExpression>(type ? *type : duckdb::LogicalType::VARCHAR, std::move(e));
  };
  duckdb::ParsedExpressionIterator::EnumerateQueryNodeChildren(node, visit);
}

}  // namespace

outcome<std::shared_ptr<duckdb::PreparedStatement>> session_impl::duck_prepare(duckdb::unique_ptr<duckdb::SQLStatement> stmt) {
  // DuckDB cannot always type a parameter from its use (`SELECT n + $1`);
  // then its prepared result is a placeholder whose shape differs from what
  // execution returns. Such a SELECT is prepared again with its parameters
  // cast: first to the types the client declared, then the rest to text.
  duckdb::unique_ptr<duckdb::SQLStatement> original;
  if (!stmt->named_param_map.empty() && stmt->type == duckdb::StatementType::SELECT_STATEMENT) original = stmt->Copy();
  std::shared_ptr<duckdb::PreparedStatement> p(conn_.Prepare(std::move(stmt)).release());
  if (p->HasError()) return duck_error(p->GetErrorObject());
  for (bool text_for_the_rest : {false, true}) {
    if (!original || p->data->properties.bound_all_parameters) return p;
    auto again = original->Copy();
    cast_parameters(*again->Cast<duckdb::SelectStatement>().node, prepare_hints_, text_for_the_rest);
    std::shared_ptr<duckdb::PreparedStatement> typed(conn_.Prepare(std::move(again)).release());
    if (typed->HasError()) return duck_error(typed->GetErrorObject());
    p = typed;
  }
  return p;
}

outcome<std::shared_ptr<duckdb::PreparedStatement>> session_impl::duck_prepare(const std::string& sql) {
  std::shared_ptr<duckdb::PreparedStatement> p(conn_.Prepare(sql).release());
  if (p->HasError()) return duck_error(p->GetErrorObject());
  return p;
}

status session_impl::duck_exec(const std::string& sql) {
  auto r = conn_.Query(sql);
  if (r->HasError()) return duck_error(r->GetErrorObject());
  return ok_t{};
}

outcome<std::unique_ptr<duckdb::QueryResult>> session_impl::run(duckdb::PreparedStatement& stmt, const statement& owner,
                                                                const std::vector<parameter>& params, bool stream,
                                                                std::shared_ptr<duck_retry>* retry) {
  duckdb::case_insensitive_map_t<duckdb::BoundParameterData> values;
  auto expected = stmt.GetExpectedParameterTypes();
  for (const auto& [name, unused] : stmt.named_param_map) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec != std::errc{} || n == 0 || n > params.size()) {
      return error{"08P01", fmt::format("no value was bound for parameter ${}", name), {}, {}};
    }
    const parameter& p = params[n - 1];
    duckdb::LogicalType target = duckdb::LogicalType::VARCHAR;
    auto it = expected.find(name);
    if (it != expected.end() && !is_unknown_type(it->second)) {
      target = it->second;
    } else if (n - 1 < owner.hinted_types.size() && owner.hinted_types[n - 1]) {
      target = *owner.hinted_types[n - 1];
    } else if (!p.is_text && !p.is_null) {
      target = to_duckdb_type(p.type);
    }
    auto v = parameter_value(p, target);
    if (!v.ok()) return v.err();
    values[name] = duckdb::BoundParameterData(std::move(v.value()));
  }
  auto r = std::make_shared<duck_retry>();
  r->values = std::move(values);
  r->stream = stream;
  if (stmt.data && stmt.data->unbound_statement) r->statement = stmt.data->unbound_statement->Copy();
  if (retry != nullptr) *retry = r;
  return execute_prepared(stmt, *r);
}

outcome<std::unique_ptr<duckdb::QueryResult>> session_impl::execute_prepared(duckdb::PreparedStatement& stmt,
                                                                             duck_retry& r) {
  scan_->use_statistics = settings_.pushdown();
  auto pending = stmt.PendingQuery(r.values, r.stream);
  duckdb::ErrorData failure;
  if (pending->HasError()) {
    failure = pending->GetErrorObject();
  } else {
    // A cancel that raced with the start of the query (which clears DuckDB's flag) still lands.
    if (interrupted()) conn_.Interrupt();
    auto result = pending->Execute();
    if (!result->HasError()) return result;
    failure = result->GetErrorObject();
  }
  pending.reset();
  if (is_stale_statistics_error(failure) && r.statement && r.stale_failures < stale_failures_max) return run_again(r);
  return duck_error(failure);
}

outcome<std::unique_ptr<duckdb::QueryResult>> session_impl::run_again(duck_retry& r) {
  ++r.stale_failures;
  scan_->report_statistics = r.stale_failures < stale_failures_max;
  auto fresh = conn_.Prepare(r.statement->Copy());
  scan_->report_statistics = true;
  if (fresh->HasError()) return duck_error(fresh->GetErrorObject());
  return execute_prepared(*fresh, r);
}

status session_impl::each_chunk(std::unique_ptr<duckdb::QueryResult>& result, duck_retry* retry,
                                const std::function<outcome<uint64_t>(const duckdb::DataChunk&)>& sink) {
  uint64_t bytes = 0;
  bool delivered = false;
  while (true) {
    auto chunk = result->Fetch();
    if (!chunk) {
      if (!result->HasError()) return ok_t{};
      const auto& failure = result->GetErrorObject();
      if (!delivered && retry && retry->statement && retry->stale_failures < stale_failures_max &&
          is_stale_statistics_error(failure)) {
        result.reset();
        auto again = run_again(*retry);
        if (!again.ok()) return again.err();
        result = std::move(again.value());
        continue;
      }
      return duck_error(failure);
    }
    if (chunk->size() == 0) continue;
    if (interrupted()) return interrupted_error();
    delivered = true;
    auto added = sink(*chunk);
    if (!added.ok()) return added.err();
    bytes += added.value();
    if (bytes > write_rows_bytes_max) {
      return error{"54000", fmt::format("the statement touches more than {} MiB of rows", write_rows_bytes_max >> 20), {},
                   "Split it into smaller statements (by key range), or load large data with COPY."};
    }
  }
}

outcome<std::vector<tables::column_batch>> session_impl::collect(std::unique_ptr<duckdb::QueryResult>& result,
                                                                 const std::vector<tables::column_type>& types,
                                                                 duck_retry* retry) {
  std::vector<tables::column_batch> out;
  auto done = each_chunk(result, retry, [&](const duckdb::DataChunk& chunk) -> outcome<uint64_t> {
    auto rows = chunk_to_table_rows(chunk, types);
    if (!rows.ok()) return fix_error(rows.err());
    out.push_back(std::move(rows.value()));
    return out.back().memory_bytes();
  });
  if (!done.ok()) return done.err();
  return out;
}

}  // namespace strata::sql::detail
