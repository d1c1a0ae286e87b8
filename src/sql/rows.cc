// Row helpers for the session: slicing, projecting and checking column batches.
#include <algorithm>

#include <fmt/format.h>

#include "sql/pg_types.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {

void append_rows(const tables::column_vector& src, uint32_t begin, uint32_t end, tables::column_vector& dst) {
  if (end <= begin) return;
  uint32_t n = end - begin;
  if (tables::is_variable_width(src.type.id)) {
    for (uint32_t r = begin; r < end; ++r) {
      if (src.is_null(r)) {
        dst.append_null();
      } else {
        dst.append_bytes(src.get_bytes(r));
      }
    }
    return;
  }
  uint32_t width = tables::fixed_width(src.type);
  dst.valid.insert(dst.valid.end(), src.valid.begin() + begin, src.valid.begin() + end);
  dst.fixed.insert(dst.fixed.end(), src.fixed.begin() + size_t(begin) * width, src.fixed.begin() + size_t(end) * width);
  dst.row_count += n;
}

void append_batch(const tables::column_batch& src, uint32_t begin, uint32_t end, tables::column_batch& dst) {
  if (dst.columns.empty()) {
    for (const auto& c : src.columns) dst.columns.emplace_back(c.type);
  }
  for (size_t i = 0; i < src.columns.size(); ++i) append_rows(src.columns[i], begin, end, dst.columns[i]);
  dst.row_count += end > begin ? end - begin : 0;
}

tables::column_batch pick_columns(const tables::column_batch& src, const std::vector<uint32_t>& columns) {
  tables::column_batch out;
  out.row_count = src.row_count;
  for (uint32_t c : columns) out.columns.push_back(src.columns[c]);
  return out;
}

tables::column_batch pick_rows(const tables::column_batch& src, const std::vector<uint32_t>& rows) {
  tables::column_batch out;
  for (const auto& c : src.columns) out.columns.emplace_back(c.type);
  for (uint32_t r : rows) {
    for (size_t i = 0; i < src.columns.size(); ++i) append_rows(src.columns[i], r, r + 1, out.columns[i]);
  }
  out.row_count = uint32_t(rows.size());
  return out;
}

status check_not_null(const tables::table_schema& schema, const tables::column_batch& rows) {
  for (size_t i = 0; i < schema.columns.size() && i < rows.columns.size(); ++i) {
    bool key = std::find(schema.primary_key.begin(), schema.primary_key.end(), uint32_t(i)) != schema.primary_key.end();
    if (!schema.columns[i].not_null && !key) continue;
    const auto& valid = rows.columns[i].valid;
    if (std::find(valid.begin(), valid.begin() + rows.row_count, uint8_t(0)) != valid.begin() + rows.row_count) {
      return error{"23502",
                   fmt::format("null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                               schema.columns[i].name, schema.name),
                   {}, "Give the column a value; it is NOT NULL or part of the primary key."};
    }
  }
  return ok_t{};
}

namespace {

// True when `text` has more than `length_max` UTF-8 characters and the excess is not all spaces.
bool too_long(std::string_view text, uint32_t length_max) {
  uint64_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) continue;
    if (chars == length_max) return text.find_first_not_of(' ', i) != std::string_view::npos;
    ++chars;
  }
  return false;
}

}  // namespace

status check_lengths(const tables::table_schema& schema, const tables::column_batch& rows) {
  for (size_t i = 0; i < schema.columns.size() && i < rows.columns.size(); ++i) {
    const auto& type = schema.columns[i].type;
    if (type.id != tables::type_id::text || type.length_max == 0) continue;
    const auto& col = rows.columns[i];
    for (uint32_t r = 0; r < rows.row_count; ++r) {
      if (!col.is_null(r) && too_long(col.get_bytes(r), type.length_max)) {
        return error{"22001", "value too long for type " + tables::type_name(type), {}, {}};
      }
    }
  }
  return ok_t{};
}

std::string row_key(const tables::column_batch& batch, const std::vector<uint32_t>& columns, uint32_t row) {
  std::string key;
  for (uint32_t c : columns) {
    const auto& col = batch.columns[c];
    if (col.is_null(row)) {
      key.push_back('\0');
      continue;
    }
    key.push_back('\1');
    if (tables::is_variable_width(col.type.id)) {
      auto bytes = col.get_bytes(row);
      uint32_t size = uint32_t(bytes.size());
      key.append(reinterpret_cast<const char*>(&size), sizeof(size));
      key.append(bytes);
    } else {
      uint32_t width = tables::fixed_width(col.type);
      key.append(reinterpret_cast<const char*>(col.fixed.data()) + size_t(row) * width, width);
    }
  }
  return key;
}

field text_field(const std::string& name) {
  field f;
  f.name = name;
  f.type = tables::column_type{tables::type_id::text};
  f.type_oid = oid::text;
  f.type_size = -1;
  return f;
}

}  // namespace strata::sql::detail
