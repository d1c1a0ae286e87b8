// strata_scan: Strata tables as a DuckDB table function, plus the replacement
// scan that turns `FROM t` and `FROM "t$changelog"` into it.
//
// The scan is the hot path of every analytical query: rows go from the
// decoded column chunks (shared with the tables cache) into DuckDB vectors:
// fixed-width columns laid out as DuckDB's are pointed at, not copied, others
// take one tight loop, and strings point into the cached bytes (the vector
// keeps the chunk alive). Column statistics for the planner: duckdb_stats.h.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "duckdb.hpp"
#include "duckdb/common/exception/catalog_exception.hpp"
#include "duckdb/function/replacement_scan.hpp"
#include "duckdb/function/table_function.hpp"
#include "duckdb/main/client_context_state.hpp"
#include "duckdb/main/config.hpp"
#include "duckdb/main/extension/extension_loader.hpp"
#include "duckdb/parallel/task_scheduler.hpp"
#include "duckdb/parser/expression/comparison_expression.hpp"
#include "duckdb/parser/expression/columnref_expression.hpp"
#include "duckdb/parser/expression/constant_expression.hpp"
#include "duckdb/parser/expression/function_expression.hpp"
#include "duckdb/parser/tableref/table_function_ref.hpp"
#include "duckdb/planner/filter/conjunction_filter.hpp"
#include "duckdb/planner/filter/constant_filter.hpp"
#include "duckdb/planner/filter/in_filter.hpp"
#include "duckdb/planner/filter/optional_filter.hpp"
#include "duckdb/planner/binder.hpp"
#include "duckdb/planner/table_filter.hpp"
#include "duckdb/execution/expression_executor.hpp"
#include "duckdb/execution/partition_info.hpp"
#include "duckdb/planner/expression/bound_conjunction_expression.hpp"
#include "duckdb/planner/expression/bound_reference_expression.hpp"
#include "sql/duckdb_bridge.h"
#include "sql/duckdb_stats.h"

namespace strata::sql {
namespace {

namespace dd = duckdb;
using tables::column_type;
using tables::column_vector;
using tables::type_id;

constexpr const char* function_name = "strata_scan";
constexpr const char* changelog_suffix = "$changelog";

// The service the function and the replacement scan talk to.
struct service_info : dd::TableFunctionInfo {
  explicit service_info(tables::service& s)
      : tables(&s), volatility(std::make_shared<stats::volatility_registry>()) {}
  tables::service* tables;
  std::shared_ptr<stats::volatility_registry> volatility;
};

struct replacement_info : dd::ReplacementScanData {
  explicit replacement_info(tables::service& s) : tables(&s) {}
  tables::service* tables;
};

struct scan_bind_data : dd::TableFunctionData {
  tables::service* tables = nullptr;
  std::shared_ptr<stats::volatility_registry> volatility;
  std::string table;
  uint64_t table_id = 0;
  bool changelog = false;
  std::vector<column_type> types;  // every column of the scanned relation
  std::vector<std::string> names;
  uint64_t estimated_rows = 0;
  std::shared_ptr<const stats::reported_stats> reported;  // null: DuckDB got no statistics

  dd::unique_ptr<dd::FunctionData> Copy() const override { return dd::make_uniq<scan_bind_data>(*this); }
  bool Equals(const dd::FunctionData& other_p) const override {
    auto& other = other_p.Cast<scan_bind_data>();
    return table == other.table && changelog == other.changelog && types == other.types;
  }
};

// Looks a table up by its name as written, then folded to lower case the way
// PostgreSQL folds unquoted identifiers.
result<tables::table_info> describe_table(tables::service& tables, const std::string& name) {
  auto info = tables.describe(name);
  if (info.ok()) return info;
  std::string lower = dd::StringUtil::Lower(name);
  if (lower != name) {
    auto folded = tables.describe(lower);
    if (folded.ok()) return folded;
  }
  return info;
}

[[noreturn]] void throw_missing(const std::string& name) {
  throw dd::CatalogException("relation \"%s\" does not exist", name);
}

dd::shared_ptr<scan_context> context_state(dd::ClientContext& context) {
  return context.registered_state->Get<scan_context>(scan_context::key);
}

// What DuckDB is told at bind (nothing for changelogs, nor when the session
// turned statistics off, nor for a table that keeps going stale).
void bind_statistics(dd::ClientContext& context, scan_bind_data& data) {
  auto ctx = context_state(context);
  if (data.changelog || (ctx && !ctx->report_statistics)) return;
  stats::level lvl = data.volatility->level_of(data.table_id);
  if (lvl == stats::level::none) return;
  data.reported = stats::plan_reported(*data.tables, data.table, data.types, ctx ? ctx->txn : nullptr, lvl);
  if (data.reported) data.estimated_rows = data.reported->rows;
}

dd::unique_ptr<dd::BaseStatistics> scan_statistics(dd::ClientContext&, const dd::FunctionData* bind_p,
                                                   dd::column_t column) {
  auto& bind = bind_p->Cast<scan_bind_data>();
  if (!bind.reported || dd::IsVirtualColumn(column) || column >= bind.types.size()) return nullptr;
  return stats::to_duckdb_statistics(bind.reported->columns[column], bind.types[column]);
}

// The execution-time side: the scan opened now must fit what DuckDB planned with.
void check_statistics(const scan_bind_data& bind, const tables::table_scan& scan,
                      const std::vector<std::pair<uint32_t, uint32_t>>& checked) {
  if (!bind.reported) return;
  std::string reason = stats::stale_reason(*bind.reported, scan, checked, bind.types, bind.names);
  if (reason.empty()) return;
  bind.volatility->raise(bind.table_id);
  stats::throw_stale(bind.table, reason);
}

dd::unique_ptr<dd::FunctionData> scan_bind(dd::ClientContext& context, dd::TableFunctionBindInput& input,
                                           dd::vector<dd::LogicalType>& return_types, dd::vector<std::string>& names) {
  auto data = dd::make_uniq<scan_bind_data>();
  data->tables = input.info->Cast<service_info>().tables;
  data->volatility = input.info->Cast<service_info>().volatility;
  if (input.inputs.empty() || input.inputs[0].IsNull()) {
    throw dd::BinderException("strata_scan needs a table name");
  }
  std::string name = dd::StringValue::Get(input.inputs[0]);
  auto changelog = input.named_parameters.find("changelog");
  if (changelog != input.named_parameters.end() && !changelog->second.IsNull()) {
    data->changelog = dd::BooleanValue::Get(changelog->second);
  }
  auto info = describe_table(*data->tables, name);
  if (!info.ok()) throw_missing(data->changelog ? name + changelog_suffix : name);
  if (data->changelog && info->schema.kind != tables::table_kind::primary_key) {
    throw dd::CatalogException("relation \"%s%s\" does not exist (only primary-key tables have a changelog)", name,
                               changelog_suffix);
  }
  data->table = info->schema.name;
  data->table_id = info->table_id;
  data->estimated_rows = info->row_count;
  auto columns = data->changelog ? tables::changelog_columns(info->schema) : info->schema.columns;
  for (const auto& column : columns) {
    data->types.push_back(column.type);
    data->names.push_back(column.name);
    return_types.push_back(to_duckdb_type(column.type));
    names.push_back(column.name);
  }
  bind_statistics(context, *data);
  // A plan made with these statistics may drop this scan entirely (a filter
  // they prove false) and so never check them: a prepared statement must be
  // planned again, with fresh statistics, each time it runs.
  if (data->reported && input.binder) input.binder->SetAlwaysRequireRebind();
  return data;
}

// ---------------------------------------------------------------------------
// Filters: TableFilter -> column_predicate (pruning only).

std::optional<tables::scalar> scalar_of(const dd::Value& v, const column_type& type) {
  if (v.IsNull()) return std::nullopt;
  if (v.type() != to_duckdb_type(type)) return std::nullopt;  // only prune on exact types
  switch (type.id) {
    case type_id::boolean: return tables::scalar(dd::BooleanValue::Get(v));
    case type_id::int16:
    case type_id::int32:
    case type_id::int64:
    case type_id::date:
    case type_id::timestamp:
    case type_id::timestamptz: {
      switch (v.type().InternalType()) {
        case dd::PhysicalType::INT16: return tables::scalar(int64_t(v.GetValueUnsafe<int16_t>()));
        case dd::PhysicalType::INT32: return tables::scalar(int64_t(v.GetValueUnsafe<int32_t>()));
        case dd::PhysicalType::INT64: return tables::scalar(v.GetValueUnsafe<int64_t>());
        default: return std::nullopt;
      }
    }
    case type_id::float32:
    case type_id::float64: {
      double d = type.id == type_id::float32 ? double(v.GetValueUnsafe<float>()) : v.GetValueUnsafe<double>();
      if (std::isnan(d)) return std::nullopt;
      return tables::scalar(d);
    }
    case type_id::numeric: {
      switch (v.type().InternalType()) {
        case dd::PhysicalType::INT16: return tables::scalar(__int128(v.GetValueUnsafe<int16_t>()));
        case dd::PhysicalType::INT32: return tables::scalar(__int128(v.GetValueUnsafe<int32_t>()));
        case dd::PhysicalType::INT64: return tables::scalar(__int128(v.GetValueUnsafe<int64_t>()));
        case dd::PhysicalType::INT128: {
          auto h = v.GetValueUnsafe<dd::hugeint_t>();
          return tables::scalar(__int128((unsigned __int128)(uint64_t(h.upper)) << 64 | h.lower));
        }
        default: return std::nullopt;
      }
    }
    case type_id::text:
    case type_id::bytea:
    case type_id::json: return tables::scalar(dd::StringValue::Get(v));
  }
  return std::nullopt;
}

std::optional<tables::column_predicate::op> op_of(dd::ExpressionType type) {
  using op = tables::column_predicate::op;
  switch (type) {
    case dd::ExpressionType::COMPARE_EQUAL: return op::eq;
    case dd::ExpressionType::COMPARE_NOTEQUAL: return op::ne;
    case dd::ExpressionType::COMPARE_LESSTHAN: return op::lt;
    case dd::ExpressionType::COMPARE_LESSTHANOREQUALTO: return op::le;
    case dd::ExpressionType::COMPARE_GREATERTHAN: return op::gt;
    case dd::ExpressionType::COMPARE_GREATERTHANOREQUALTO: return op::ge;
    default: return std::nullopt;
  }
}

void add_predicates(const dd::TableFilter& filter, uint32_t column, const column_type& type,
                    std::vector<tables::column_predicate>& out) {
  using op = tables::column_predicate::op;
  switch (filter.filter_type) {
    case dd::TableFilterType::CONSTANT_COMPARISON: {
      auto& f = filter.Cast<dd::ConstantFilter>();
      auto kind = op_of(f.comparison_type);
      auto value = scalar_of(f.constant, type);
      if (kind && value) out.push_back({column, *kind, {std::move(*value)}});
      return;
    }
    case dd::TableFilterType::IN_FILTER: {
      auto& f = filter.Cast<dd::InFilter>();
      tables::column_predicate p{column, op::in, {}};
      for (const auto& v : f.values) {
        auto value = scalar_of(v, type);
        if (!value) return;  // a value we cannot represent: no pruning on this filter
        p.values.push_back(std::move(*value));
      }
      out.push_back(std::move(p));
      return;
    }
    case dd::TableFilterType::IS_NULL: out.push_back({column, op::is_null, {}}); return;
    case dd::TableFilterType::IS_NOT_NULL: out.push_back({column, op::is_not_null, {}}); return;
    case dd::TableFilterType::CONJUNCTION_AND:
      for (const auto& child : filter.Cast<dd::ConjunctionAndFilter>().child_filters) {
        add_predicates(*child, column, type, out);
      }
      return;
    case dd::TableFilterType::OPTIONAL_FILTER: {
      auto& f = filter.Cast<dd::OptionalFilter>();
      if (f.child_filter) add_predicates(*f.child_filter, column, type, out);
      return;
    }
    default: return;  // OR, expressions, dynamic filters: the row-level pass handles them
  }
}

// The row-level pass: every pushed filter except the optional ones, as one
// DuckDB expression over the output chunk (DuckDB's own semantics, so the
// scan returns exactly the rows the filters select).
void collect_row_expressions(const dd::TableFilter& filter, const dd::Expression& column,
                             dd::vector<dd::unique_ptr<dd::Expression>>& out) {
  switch (filter.filter_type) {
    case dd::TableFilterType::OPTIONAL_FILTER: return;  // not needed for correctness
    case dd::TableFilterType::CONJUNCTION_AND:
      for (const auto& child : filter.Cast<dd::ConjunctionAndFilter>().child_filters) {
        collect_row_expressions(*child, column, out);
      }
      return;
    default: out.push_back(filter.ToExpression(column));
  }
}

dd::unique_ptr<dd::Expression> conjunction_of(dd::vector<dd::unique_ptr<dd::Expression>> parts) {
  if (parts.empty()) return nullptr;
  if (parts.size() == 1) return std::move(parts[0]);
  auto all = dd::make_uniq<dd::BoundConjunctionExpression>(dd::ExpressionType::CONJUNCTION_AND);
  all->children = std::move(parts);
  return all;
}

// ---------------------------------------------------------------------------
// Global and local state.

constexpr uint32_t virtual_column = UINT32_MAX;

struct scan_global : dd::GlobalTableFunctionState {
  std::unique_ptr<tables::table_scan> scan;
  std::atomic<size_t> next_unit{0};
  std::atomic<size_t> units_done{0};
  idx_t max_threads = 1;
  // Per output column: its position in the scan's projection, or virtual_column.
  std::vector<uint32_t> scan_position;
  std::vector<column_type> output_types;  // valid for non-virtual columns
  dd::unique_ptr<dd::TableFilterSet> filters;  // keyed by output column
  dd::unique_ptr<dd::Expression> row_filter;   // null when nothing needs checking per row

  idx_t MaxThreads() const override { return max_threads; }
};

struct scan_local : dd::LocalTableFunctionState {
  std::unique_ptr<tables::scan_cursor> cursor;
  tables::scan_chunk chunk;
  uint32_t position = 0;  // next live row of `chunk` to emit
  int64_t row_base = 0;   // for row-id columns
  size_t unit = 0;        // the unit `cursor` reads
  uint32_t unit_chunks = 0;  // chunks read from it so far
  idx_t batch_index = 0;  // of `chunk`: increasing per thread, unique across threads
  dd::unique_ptr<dd::ExpressionExecutor> filter;
  dd::SelectionVector selection{STANDARD_VECTOR_SIZE};
};

// The projection the scan reads: the non-virtual column ids, or, when DuckDB
// asks only for row ids (count(*)), the narrowest column so rows can be counted.
uint32_t narrowest_column(const std::vector<column_type>& types) {
  uint32_t best = 0;
  uint32_t best_width = UINT32_MAX;
  for (uint32_t i = 0; i < types.size(); i++) {
    uint32_t width = tables::is_variable_width(types[i].id) ? 64 : tables::fixed_width(types[i]);
    if (width < best_width) {
      best = i;
      best_width = width;
    }
  }
  return best;
}

dd::unique_ptr<dd::GlobalTableFunctionState> scan_init_global(dd::ClientContext& context,
                                                              dd::TableFunctionInitInput& input) {
  auto& bind = input.bind_data->Cast<scan_bind_data>();
  auto state = dd::make_uniq<scan_global>();
  tables::scan_spec spec;
  spec.changelog = bind.changelog;
  std::vector<std::pair<uint32_t, uint32_t>> checked;  // (scan position, relation column)
  for (auto id : input.column_ids) {
    if (dd::IsVirtualColumn(id) || id >= bind.types.size()) {
      state->scan_position.push_back(virtual_column);
      state->output_types.emplace_back();
      continue;
    }
    checked.emplace_back(uint32_t(spec.columns.size()), uint32_t(id));
    state->scan_position.push_back(uint32_t(spec.columns.size()));
    state->output_types.push_back(bind.types[id]);
    spec.columns.push_back(uint32_t(id));
  }
  if (spec.columns.empty()) spec.columns.push_back(narrowest_column(bind.types));

  if (input.filters) {
    state->filters = input.filters->Copy();
    dd::vector<dd::unique_ptr<dd::Expression>> parts;
    for (const auto& [key, filter] : state->filters->filters) {
      if (key >= input.column_ids.size() || state->scan_position[key] == virtual_column) {
        throw dd::InternalException("strata_scan: filter on unknown column %llu", (unsigned long long)key);
      }
      auto column = uint32_t(input.column_ids[key]);
      add_predicates(*filter, column, bind.types[column], spec.predicates);
      dd::BoundReferenceExpression ref(to_duckdb_type(bind.types[column]), key);
      collect_row_expressions(*filter, ref, parts);
    }
    state->row_filter = conjunction_of(std::move(parts));
  }

  const tables::transaction* txn = nullptr;
  if (auto ctx = context_state(context)) {
    txn = ctx->txn;
    spec.use_statistics = ctx->use_statistics;
  }
  spec.table_id = bind.table_id;
  auto scan = bind.tables->scan(bind.table, spec, txn);
  if (!scan.ok()) {
    if (scan.code() == errc::not_found) throw_missing(bind.table);
    // Bound against a table since replaced: the statement is bound again.
    if (scan.code() == errc::unavailable) stats::throw_stale(bind.table, scan.err().message);
    throw dd::IOException("scanning table \"%s\": %s", bind.table, scan.err().message);
  }
  check_statistics(bind, **scan, checked);
  state->scan = std::move(scan.value());
  auto threads = idx_t(std::max(1, dd::TaskScheduler::GetScheduler(context).NumberOfThreads()));
  state->max_threads = std::max<idx_t>(1, std::min<idx_t>(state->scan->unit_count(), threads));
  return state;
}

dd::unique_ptr<dd::LocalTableFunctionState> scan_init_local(dd::ExecutionContext& context, dd::TableFunctionInitInput&,
                                                            dd::GlobalTableFunctionState* global_p) {
  auto& global = global_p->Cast<scan_global>();
  auto local = dd::make_uniq<scan_local>();
  if (global.row_filter) local->filter = dd::make_uniq<dd::ExpressionExecutor>(context.client, *global.row_filter);
  return local;
}

// ---------------------------------------------------------------------------
// Copying rows into vectors.

// Keeps a decoded column alive while a vector's strings point into it.
struct column_holder : dd::VectorBuffer {
  explicit column_holder(std::shared_ptr<const column_vector> c)
      : dd::VectorBuffer(dd::VectorBufferType::OPAQUE_BUFFER), column(std::move(c)) {}
  std::shared_ptr<const column_vector> column;
};

// Rows [start, start + count) of the chunk's live rows: `sel` (the chunk's
// selection, offset by start) or a contiguous range from `start`.
struct row_range {
  const uint32_t* sel = nullptr;
  uint32_t start = 0;
  uint32_t count = 0;
  uint32_t row(uint32_t i) const { return sel ? sel[i] : start + i; }
};

template <class T>
void copy_same(const column_vector& src, const row_range& rows, dd::Vector& out) {
  auto* dst = dd::FlatVector::GetData<T>(out);
  const auto* base = reinterpret_cast<const T*>(src.fixed.data());
  if (!rows.sel) {
    std::memcpy(dst, base + rows.start, size_t(rows.count) * sizeof(T));
    return;
  }
  for (uint32_t i = 0; i < rows.count; i++) dst[i] = base[rows.sel[i]];
}

template <class From, class To>
void copy_narrow(const column_vector& src, const row_range& rows, dd::Vector& out) {
  auto* dst = dd::FlatVector::GetData<To>(out);
  const auto* base = reinterpret_cast<const From*>(src.fixed.data());
  for (uint32_t i = 0; i < rows.count; i++) dst[i] = To(base[rows.row(i)]);
}

void copy_strings(const std::shared_ptr<const column_vector>& holder, const row_range& rows, dd::Vector& out) {
  const column_vector& src = *holder;
  auto* dst = dd::FlatVector::GetData<dd::string_t>(out);
  const char* bytes = src.bytes.data();
  const uint32_t* offsets = src.offsets.data();
  bool needs_holder = false;
  for (uint32_t i = 0; i < rows.count; i++) {
    uint32_t r = rows.row(i);
    uint32_t begin = offsets[r];
    uint32_t length = offsets[r + 1] - begin;
    dst[i] = dd::string_t(bytes + begin, length);
    needs_holder |= length > dd::string_t::INLINE_LENGTH;
  }
  if (needs_holder) dd::StringVector::AddBuffer(out, dd::make_buffer<column_holder>(holder));
}

void copy_validity(const column_vector& src, const row_range& rows, dd::Vector& out) {
  const uint8_t* valid = src.valid.data();
  if (!rows.sel && std::memchr(valid + rows.start, 0, rows.count) == nullptr) return;
  auto& mask = dd::FlatVector::Validity(out);
  for (uint32_t i = 0; i < rows.count; i++) {
    if (!valid[rows.row(i)]) mask.SetInvalid(i);
  }
}

// Contiguous rows of a column laid out as DuckDB lays out its type: the
// vector points into the decoded chunk (shared, read-only, kept alive by the
// vector) instead of copying it. DuckDB's own uncompressed scans do the same.
bool share_column(const std::shared_ptr<const column_vector>& holder, const row_range& rows, dd::Vector& out) {
  const column_vector& src = *holder;
  if (rows.sel || tables::is_variable_width(src.type.id)) return false;
  const uint32_t width = tables::fixed_width(src.type);
  if (src.type.id == type_id::numeric && width != dd::GetTypeIdSize(out.GetType().InternalType())) return false;
  auto* data = const_cast<uint8_t*>(src.fixed.data()) + size_t(rows.start) * width;
  dd::FlatVector::SetData(out, data);
  out.SetAuxiliary(dd::make_buffer<column_holder>(holder));
  copy_validity(src, rows, out);
  return true;
}

void copy_column(const std::shared_ptr<const column_vector>& holder, const row_range& rows, dd::Vector& out) {
  const column_vector& src = *holder;
  if (share_column(holder, rows, out)) return;
  switch (src.type.id) {
    case type_id::boolean: copy_same<uint8_t>(src, rows, out); break;
    case type_id::int16: copy_same<int16_t>(src, rows, out); break;
    case type_id::int32:
    case type_id::date: copy_same<int32_t>(src, rows, out); break;
    case type_id::float32: copy_same<float>(src, rows, out); break;
    case type_id::int64:
    case type_id::timestamp:
    case type_id::timestamptz: copy_same<int64_t>(src, rows, out); break;
    case type_id::float64: copy_same<double>(src, rows, out); break;
    case type_id::numeric:
      if (src.type.precision <= 4) {
        copy_narrow<int64_t, int16_t>(src, rows, out);
      } else if (src.type.precision <= 9) {
        copy_narrow<int64_t, int32_t>(src, rows, out);
      } else if (src.type.precision <= tables::numeric_int64_precision_max) {
        copy_same<int64_t>(src, rows, out);
      } else {
        static_assert(sizeof(dd::hugeint_t) == sizeof(__int128));
        copy_same<dd::hugeint_t>(src, rows, out);  // same two's-complement little-endian layout
      }
      break;
    case type_id::text:
    case type_id::bytea:
    case type_id::json: copy_strings(holder, rows, out); break;
  }
  copy_validity(src, rows, out);
}

// Opens the next unit's cursor; false when every unit is taken.
bool open_next_unit(scan_global& global, scan_local& local) {
  size_t unit = global.next_unit.fetch_add(1);
  if (unit >= global.scan->unit_count()) return false;
  auto cursor = global.scan->open_unit(unit);
  if (!cursor.ok()) throw dd::IOException("opening a table scan unit: %s", cursor.err().message);
  local.cursor = std::move(cursor.value());
  local.unit = unit;
  local.unit_chunks = 0;
  return true;
}

// Makes sure `local.chunk` has rows left to emit; false at the end of the scan.
bool ensure_rows(scan_global& global, scan_local& local) {
  while (local.position >= local.chunk.live_rows()) {
    if (!local.cursor) {
      if (!open_next_unit(global, local)) return false;
    }
    local.chunk = tables::scan_chunk{};
    local.position = 0;
    auto more = local.cursor->next(local.chunk);
    if (!more.ok()) throw dd::IOException("reading a table: %s", more.err().message);
    local.batch_index = (idx_t(local.unit) << 32) | local.unit_chunks++;
    if (!more.value()) {
      local.cursor.reset();
      local.chunk = tables::scan_chunk{};
      global.units_done.fetch_add(1);
    }
  }
  return true;
}

void fill_output(scan_global& global, scan_local& local, dd::DataChunk& output, uint32_t count) {
  row_range rows;
  rows.count = count;
  if (local.chunk.selection.empty()) {
    rows.start = local.position;
  } else {
    rows.sel = local.chunk.selection.data() + local.position;
  }
  for (idx_t c = 0; c < output.ColumnCount(); c++) {
    uint32_t p = global.scan_position[c];
    auto& vector = output.data[c];
    if (p == virtual_column) {
      if (vector.GetType().id() == dd::LogicalTypeId::BIGINT) {
        vector.Sequence(local.row_base, 1, count);
      } else {
        vector.SetVectorType(dd::VectorType::CONSTANT_VECTOR);
        dd::ConstantVector::SetNull(vector, true);
      }
      continue;
    }
    copy_column(local.chunk.columns[p], rows, vector);
  }
  output.SetCardinality(count);
}

void scan_function(dd::ClientContext&, dd::TableFunctionInput& input, dd::DataChunk& output) {
  auto& global = input.global_state->Cast<scan_global>();
  auto& local = input.local_state->Cast<scan_local>();
  while (ensure_rows(global, local)) {
    uint32_t count = std::min<uint32_t>(STANDARD_VECTOR_SIZE, local.chunk.live_rows() - local.position);
    fill_output(global, local, output, count);
    local.position += count;
    local.row_base += count;
    if (!local.filter) return;
    idx_t approved = local.filter->SelectExpression(output, local.selection);
    if (approved == count) return;
    if (approved > 0) {
      output.Slice(local.selection, approved);
      return;
    }
    output.Reset();  // nothing survived: read on, an empty chunk would end the scan
  }
  output.SetCardinality(0);
}

// Batch indexes let DuckDB keep the scan's order (unit by unit, chunk by
// chunk) while threads read in parallel, e.g. for SELECT * results.
dd::OperatorPartitionData scan_partition_data(dd::ClientContext&, dd::TableFunctionGetPartitionInput& input) {
  if (input.partition_info.RequiresPartitionColumns()) {
    throw dd::InternalException("strata_scan does not report partition columns");
  }
  return dd::OperatorPartitionData(input.local_state->Cast<scan_local>().batch_index);
}

// The maximum only when the scan checks it at execution (statistics given).
dd::unique_ptr<dd::NodeStatistics> scan_cardinality(dd::ClientContext&, const dd::FunctionData* bind_p) {
  auto& bind = bind_p->Cast<scan_bind_data>();
  if (!bind.reported) return dd::make_uniq<dd::NodeStatistics>(bind.estimated_rows);
  return dd::make_uniq<dd::NodeStatistics>(bind.estimated_rows, bind.reported->rows_max);
}

double scan_progress(dd::ClientContext&, const dd::FunctionData*, const dd::GlobalTableFunctionState* global_p) {
  auto& global = global_p->Cast<scan_global>();
  size_t units = global.scan ? global.scan->unit_count() : 0;
  if (units == 0) return 100.0;
  return 100.0 * double(std::min(global.units_done.load(), units)) / double(units);
}

dd::InsertionOrderPreservingMap<std::string> scan_to_string(dd::TableFunctionToStringInput& input) {
  dd::InsertionOrderPreservingMap<std::string> result;
  auto& bind = input.bind_data->Cast<scan_bind_data>();
  result["Table"] = bind.changelog ? bind.table + changelog_suffix : bind.table;
  return result;
}

// ---------------------------------------------------------------------------
// Replacement scan.

bool ignorable_schema(const std::string& catalog, const std::string& schema) {
  if (!catalog.empty()) return false;
  return schema.empty() || dd::StringUtil::CIEquals(schema, "public") || dd::StringUtil::CIEquals(schema, "main");
}

dd::unique_ptr<dd::TableRef> replace_table(dd::ClientContext&, dd::ReplacementScanInput& input,
                                           dd::optional_ptr<dd::ReplacementScanData> data) {
  if (!data || !ignorable_schema(input.catalog_name, input.schema_name)) return nullptr;
  auto& tables = *data->Cast<replacement_info>().tables;
  std::string name = input.table_name;
  bool changelog = false;
  if (!describe_table(tables, name).ok()) {
    if (!dd::StringUtil::EndsWith(name, changelog_suffix)) return nullptr;
    std::string base = name.substr(0, name.size() - std::strlen(changelog_suffix));
    auto info = describe_table(tables, base);
    if (!info.ok() || info->schema.kind != tables::table_kind::primary_key) return nullptr;
    name = base;
    changelog = true;
  }
  dd::vector<dd::unique_ptr<dd::ParsedExpression>> arguments;
  arguments.push_back(dd::make_uniq<dd::ConstantExpression>(dd::Value(name)));
  if (changelog) {
    arguments.push_back(dd::make_uniq<dd::ComparisonExpression>(
        dd::ExpressionType::COMPARE_EQUAL, dd::make_uniq<dd::ColumnRefExpression>("changelog"),
        dd::make_uniq<dd::ConstantExpression>(dd::Value::BOOLEAN(true))));
  }
  auto ref = dd::make_uniq<dd::TableFunctionRef>();
  ref->function = dd::make_uniq<dd::FunctionExpression>(function_name, std::move(arguments));
  ref->alias = input.table_name;
  return ref;
}

}  // namespace

void register_strata_scan(duckdb::DatabaseInstance& db, tables::service& tables) {
  dd::TableFunction function(function_name, {dd::LogicalType::VARCHAR}, scan_function, scan_bind, scan_init_global,
                             scan_init_local);
  function.named_parameters["changelog"] = dd::LogicalType::BOOLEAN;
  function.projection_pushdown = true;
  function.filter_pushdown = true;
  function.filter_prune = false;  // filter columns stay in the output: the row-level pass reads them there
  function.cardinality = scan_cardinality;
  function.statistics = scan_statistics;
  function.table_scan_progress = scan_progress;
  function.to_string = scan_to_string;
  function.get_partition_data = scan_partition_data;
  function.function_info = dd::make_shared_ptr<service_info>(tables);

  dd::ExtensionLoader loader(db, "strata");
  loader.RegisterFunction(std::move(function));

  auto& config = dd::DBConfig::GetConfig(db);
  config.replacement_scans.emplace_back(replace_table, dd::make_uniq<replacement_info>(tables));
}

}  // namespace strata::sql
