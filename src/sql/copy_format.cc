// COPY's text and CSV row codec: output escaping, the header line and the
// streaming decoder. Values themselves: text_value_parse.cc / text_value_format.cc.
#include "sql/copy_format.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sql/copy_decoder_internal.h"

namespace strata::sql {

using tables::column_type;
using tables::column_vector;
using tables::type_id;

using namespace text_detail;

namespace {

// ---------------------------------------------------------------- COPY output escaping

bool needs_text_escape(std::string_view v, char delimiter) {
  for (char c : v) {
    if (c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' || c == '\v' || c == delimiter) {
      return true;
    }
  }
  return false;
}

void append_text_escaped(std::string& out, std::string_view v, char delimiter) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c == delimiter) out.push_back('\\');
        out.push_back(c);
    }
  }
}

bool needs_csv_quote(std::string_view v, const copy_statement& o, bool single_column) {
  if (v == o.null_string) return true;
  if (single_column && v == "\\.") return true;
  for (char c : v) {
    if (c == o.delimiter || c == o.quote || c == '\n' || c == '\r') return true;
  }
  return false;
}

void append_csv_quoted(std::string& out, std::string_view v, const copy_statement& o) {
  out.push_back(o.quote);
  for (char c : v) {
    if (c == o.quote || c == o.escape) out.push_back(o.escape);
    out.push_back(c);
  }
  out.push_back(o.quote);
}

// Escapes out[start, end) in place for the format.
void escape_tail(std::string& out, size_t start, const copy_statement& o, bool single_column) {
  std::string_view v(out.data() + start, out.size() - start);
  bool csv = o.format == copy_format::csv;
  if (csv ? !needs_csv_quote(v, o, single_column) : !needs_text_escape(v, o.delimiter)) return;
  thread_local std::string scratch;
  scratch.assign(v);
  out.resize(start);
  if (csv) {
    append_csv_quoted(out, scratch, o);
  } else {
    append_text_escaped(out, scratch, o.delimiter);
  }
}

}  // namespace

// ---------------------------------------------------------------- public: output

void encode_copy_rows(const copy_statement& options, const tables::column_batch& batch, std::string& out) {
  bool single = batch.columns.size() == 1;
  for (uint32_t row = 0; row < batch.row_count; ++row) {
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (c != 0) out.push_back(options.delimiter);
      const column_vector& col = batch.columns[c];
      if (col.is_null(row)) {
        out += options.null_string;
        continue;
      }
      size_t start = out.size();
      append_text_value(col, row, out);
      escape_tail(out, start, options, single);
    }
    out.push_back('\n');
  }
}

void encode_copy_header(const copy_statement& options, const std::vector<std::string>& names, std::string& out) {
  for (size_t c = 0; c < names.size(); ++c) {
    if (c != 0) out.push_back(options.delimiter);
    size_t start = out.size();
    out += names[c];
    escape_tail(out, start, options, names.size() == 1);
  }
  out.push_back('\n');
}

// ---------------------------------------------------------------- decoder

copy_decoder::impl::impl(const copy_statement& o, std::vector<column_type> t) : opts(o), types(std::move(t)) {
  reset_batch();
}

void copy_decoder::impl::reset_batch(const tables::column_batch* last) {
  batch = tables::column_batch{};
  batch.columns.reserve(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    batch.columns.emplace_back(types[c]);
    if (last != nullptr && c < last->columns.size()) {
      batch.columns[c].reserve(last->row_count, last->columns[c].bytes.size());
    }
  }
}

void copy_decoder::impl::truncate_batch() {
  for (auto& col : batch.columns) {
    if (col.row_count <= batch.row_count) continue;
    col.row_count = batch.row_count;
    col.valid.resize(batch.row_count);
    if (tables::is_variable_width(col.type.id)) {
      col.offsets.resize(size_t(batch.row_count) + 1);
      col.bytes.resize(col.offsets.back());
    } else {
      col.fixed.resize(size_t(batch.row_count) * tables::fixed_width(col.type));
    }
  }
}

std::string copy_decoder::impl::column_name(size_t c) const {
  if (opts.columns.size() == types.size()) return "\"" + opts.columns[c] + "\"";
  return std::to_string(c + 1);
}

error copy_decoder::impl::row_error(error e, size_t column) const {
  std::string where = "COPY line " + std::to_string(line);
  if (column != size_t(-1)) where += ", column " + column_name(column);
  e.detail = e.detail.empty() ? where : where + ": " + e.detail;
  return e;
}

error copy_decoder::impl::row_too_long() const {
  return sql_error("54000", "COPY row is longer than " + std::to_string(copy_row_bytes_max >> 20) + " MiB",
                   "COPY line " + std::to_string(line), "Split the value, or load it with INSERT.");
}

namespace {

// Text and CSV: rows end at a newline (outside CSV quotes).
struct text_decoder final : copy_decoder::impl {
  std::string carry;             // the start of a row whose end has not arrived
  bool scan_escape = false;      // text: carry ends in an unpaired backslash; csv: in an escape inside quotes
  bool scan_in_quote = false;    // csv: carry ends inside a quoted field
  bool header_pending = false;
  bool ended = false;            // "\." seen: later bytes are ignored
  std::string scratch;           // one de-escaped field

  text_decoder(const copy_statement& o, std::vector<column_type> t) : impl(o, std::move(t)) {
    header_pending = opts.header;
  }

  uint64_t carry_bytes() const override { return carry.size(); }

  bool csv() const { return opts.format == copy_format::csv; }

  // The offset of the '\n' that ends the row starting at data[0] (scanning
  // from `from` with the saved state), or npos with the state saved.
  size_t find_row_end(std::string_view d, size_t from) {
    return csv() ? find_csv_row_end(d, from) : find_text_row_end(d, from);
  }

  size_t find_text_row_end(std::string_view d, size_t i) {
    if (scan_escape) {
      if (i >= d.size()) return std::string_view::npos;
      scan_escape = false;
      ++i;
    }
    const char* base = d.data();
    const void* nl = i < d.size() ? std::memchr(base + i, '\n', d.size() - i) : nullptr;
    for (;;) {
      size_t limit = nl ? size_t(static_cast<const char*>(nl) - base) : d.size();
      const void* bs = i < limit ? std::memchr(base + i, '\\', limit - i) : nullptr;
      if (bs == nullptr) return nl ? limit : std::string_view::npos;
      size_t b = size_t(static_cast<const char*>(bs) - base);
      if (b + 1 >= d.size()) {
        scan_escape = true;
        return std::string_view::npos;
      }
      i = b + 2;
      if (b + 1 == limit) nl = i < d.size() ? std::memchr(base + i, '\n', d.size() - i) : nullptr;
    }
  }

  // Outside quotes memchr finds the next quote or newline; inside, bytes are
  // read one by one for the closing quote and escapes.
  size_t find_csv_row_end(std::string_view d, size_t i) {
    const char quote = opts.quote, escape = opts.escape;
    const char* base = d.data();
    size_t nl = std::string_view::npos;  // the next '\n' at or after i, once looked up
    for (;;) {
      if (!scan_in_quote) {
        if (i >= d.size()) return std::string_view::npos;
        if (nl == std::string_view::npos || nl < i) {
          const void* p = std::memchr(base + i, '\n', d.size() - i);
          nl = p ? size_t(static_cast<const char*>(p) - base) : d.size();
        }
        const void* q = std::memchr(base + i, quote, nl - i);
        if (q == nullptr) return nl < d.size() ? nl : std::string_view::npos;
        i = size_t(static_cast<const char*>(q) - base) + 1;
        scan_in_quote = true;
      }
      for (; i < d.size(); ++i) {
        char c = d[i];
        if (scan_escape) {
          scan_escape = false;
          if (c == quote || c == escape) continue;
        }
        if (escape != quote && c == escape) {
          scan_escape = true;
        } else if (c == quote) {
          scan_in_quote = false;
          ++i;
          break;
        }
      }
      if (scan_in_quote) return std::string_view::npos;
    }
  }

  status value(std::string_view text, size_t c) {
    auto s = parse_text_value(text, batch.columns[c]);
    if (!s.ok()) return row_error(s.err(), c);
    return ok();
  }

  status null_value(size_t c) {
    batch.columns[c].append_null();
    return ok();
  }

  // One row without its '\n'.
  status parse_row(std::string_view row) {
    ++line;
    if (row.size() > copy_row_bytes_max) return row_too_long();
    if (!row.empty() && row.back() == '\r' && (row.size() < 2 || row[row.size() - 2] != '\\')) row.remove_suffix(1);
    if (row == "\\.") {
      ended = true;
      return ok();
    }
    if (header_pending) {
      header_pending = false;
      return ok();
    }
    auto s = csv() ? parse_csv_row(row) : parse_text_row(row);
    if (!s.ok()) {
      truncate_batch();
      return s;
    }
    ++batch.row_count;
    ++rows;
    return ok();
  }

  status extra_data() const { return row_error(sql_error("22P04", "extra data after last expected column"), -1); }
  status missing_data(size_t c) const {
    return row_error(sql_error("22P04", "missing data for column " + column_name(c)), -1);
  }

  status parse_text_row(std::string_view row) {
    const size_t ncols = types.size();
    if (ncols == 0) return row.empty() ? ok() : extra_data();
    const bool has_escape = std::memchr(row.data(), '\\', row.size()) != nullptr;
    size_t c = 0, i = 0;
    for (;;) {
      if (c >= ncols) return extra_data();
      size_t start = i;
      bool escaped = false;
      if (!has_escape) {
        const void* d = std::memchr(row.data() + i, opts.delimiter, row.size() - i);
        i = d ? size_t(static_cast<const char*>(d) - row.data()) : row.size();
      } else {
        while (i < row.size() && row[i] != opts.delimiter) {
          if (row[i] == '\\') {
            escaped = true;
            ++i;
          }
          ++i;
        }
        if (i > row.size()) i = row.size();
      }
      std::string_view raw = row.substr(start, i - start);
      status s = raw == opts.null_string ? null_value(c) : escaped ? value(unescape_text(raw), c) : value(raw, c);
      if (!s.ok()) return s;
      ++c;
      if (i >= row.size()) break;
      ++i;  // the delimiter
    }
    if (c < ncols) return missing_data(c);
    return ok();
  }

  std::string_view unescape_text(std::string_view raw) {
    scratch.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c != '\\' || i + 1 >= raw.size()) {
        scratch.push_back(c);
        continue;
      }
      char e = raw[++i];
      switch (e) {
        case 'b': scratch.push_back('\b'); break;
        case 'f': scratch.push_back('\f'); break;
        case 'n': scratch.push_back('\n'); break;
        case 'r': scratch.push_back('\r'); break;
        case 't': scratch.push_back('\t'); break;
        case 'v': scratch.push_back('\v'); break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && i + 1 < raw.size() && hex_value(raw[i + 1]) >= 0) v = v * 16 + hex_value(raw[++i]), ++n;
          scratch.push_back(n == 0 ? 'x' : char(v));
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7') v = v * 8 + (raw[++i] - '0'), ++n;
            scratch.push_back(char(v & 0xff));
          } else {
            scratch.push_back(e);
          }
      }
    }
    return scratch;
  }

  status parse_csv_row(std::string_view row) {
    const size_t ncols = types.size();
    if (ncols == 0) return row.empty() ? ok() : extra_data();
    const char delim = opts.delimiter, quote = opts.quote, escape = opts.escape;
    size_t c = 0, i = 0;
    for (;;) {
      if (c >= ncols) return extra_data();
      size_t start = i;
      while (i < row.size() && row[i] != delim && row[i] != quote) ++i;
      status s = ok();
      if (i >= row.size() || row[i] == delim) {
        std::string_view raw = row.substr(start, i - start);
        s = raw == opts.null_string ? null_value(c) : value(raw, c);
      } else {
        // A quoted part: the field continues to the next delimiter outside quotes.
        scratch.assign(row.data() + start, i - start);
        bool in_quote = false;
        for (; i < row.size(); ++i) {
          char ch = row[i];
          if (in_quote) {
            if (ch == escape && i + 1 < row.size() && (row[i + 1] == quote || (escape != quote && row[i + 1] == escape))) {
              scratch.push_back(row[++i]);
            } else if (ch == quote) {
              in_quote = false;
            } else {
              scratch.push_back(ch);
            }
          } else if (ch == quote) {
            in_quote = true;
          } else if (ch == delim) {
            break;
          } else {
            scratch.push_back(ch);
          }
        }
        if (in_quote) return row_error(sql_error("22P04", "unterminated CSV quoted field"), -1);
        s = value(scratch, c);
      }
      if (!s.ok()) return s;
      ++c;
      if (i >= row.size()) break;
      ++i;
    }
    if (c < ncols) return missing_data(c);
    return ok();
  }

  // Parses every complete row in `data`; returns the bytes consumed.
  outcome<size_t> parse_rows(std::string_view data) {
    size_t pos = 0;
    while (pos < data.size() && !ended) {
      size_t end = find_row_end(data, pos);
      if (end == std::string_view::npos) return pos;
      auto s = parse_row(data.substr(pos, end - pos));
      if (!s.ok()) return s.err();
      pos = end + 1;
    }
    return ended ? data.size() : pos;
  }

  status feed(std::string_view data) override {
    if (failed) return *failed;
    if (ended) return ok();
    if (!carry.empty()) {
      size_t end = find_row_end(data, 0);
      if (end == std::string_view::npos) {
        carry.append(data);
        if (carry.size() > copy_row_bytes_max) return fail(row_too_long());
        return ok();
      }
      carry.append(data.substr(0, end));
      auto s = parse_row(carry);
      carry.clear();
      if (!s.ok()) return fail(s.err());
      data.remove_prefix(end + 1);
      if (ended) return ok();
    }
    scan_escape = false;
    scan_in_quote = false;
    auto used = parse_rows(data);
    if (!used.ok()) return fail(used.err());
    // parse_rows left the scan state describing the unfinished tail.
    carry.assign(data.substr(*used));
    if (carry.size() > copy_row_bytes_max) return fail(row_too_long());
    return ok();
  }

  status finish() override {
    if (failed) return *failed;
    if (ended || carry.empty()) return ok();
    if (csv() && scan_in_quote) {
      ++line;
      return fail(row_error(sql_error("22P04", "unterminated CSV quoted field"), -1));
    }
    auto s = parse_row(carry);
    carry.clear();
    if (!s.ok()) return fail(s.err());
    return ok();
  }
};

}  // namespace

copy_decoder::copy_decoder(const copy_statement& options, std::vector<column_type> types)
    : impl_(options.format == copy_format::binary
                ? make_binary_copy_decoder(options, std::move(types))
                : std::shared_ptr<impl>(std::make_shared<text_decoder>(options, std::move(types)))) {}

status copy_decoder::feed(std::string_view data) { return impl_->feed(data); }

status copy_decoder::finish() { return impl_->finish(); }

tables::column_batch copy_decoder::take_rows() {
  tables::column_batch out = std::move(impl_->batch);
  impl_->reset_batch(&out);
  return out;
}

uint64_t copy_decoder::pending_bytes() const { return impl_->carry_bytes() + impl_->batch.memory_bytes(); }

uint64_t copy_decoder::rows_parsed() const { return impl_->rows; }

}  // namespace strata::sql
