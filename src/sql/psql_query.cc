// Reading psql's catalog query text: normalizing it, picking out literals,
// oids and relkinds, and splitting its select list (psql_catalog_internal.h).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "sql/pg_types.h"
#include "sql/psql_catalog_internal.h"
#include "tables/types.h"

namespace strata::sql::psql {

using tables::column_type;
using tables::type_id;

query normalize(std::string_view sql) {
  query q;
  q.text.reserve(sql.size());
  char quote = 0;
  bool pending_space = false;
  for (char c : sql) {
    if (quote == 0 && is_space(c)) {
      pending_space = !q.text.empty();
      continue;
    }
    if (pending_space) q.text.push_back(' ');
    pending_space = false;
    if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
    } else if (quote != 0 && c == quote) {
      quote = 0;  // a doubled quote closes and reopens: the same state afterwards
    }
    q.text.push_back(c);
  }
  while (!q.text.empty() && (q.text.back() == ';' || q.text.back() == ' ')) q.text.pop_back();
  q.lower = q.text;
  for (char& c : q.lower) c = lower_ascii(c);
  return q;
}

// Reads the SQL string literal at `pos` ('...' or E'...').
std::optional<std::string> string_literal(std::string_view text, size_t pos) {
  bool escapes = false;
  if (pos < text.size() && (text[pos] == 'E' || text[pos] == 'e')) {
    escapes = true;
    ++pos;
  }
  if (pos >= text.size() || text[pos] != '\'') return std::nullopt;
  std::string out;
  for (size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (escapes && c == '\\' && i + 1 < text.size()) {
      out.push_back(text[++i]);
    } else if (c == '\'') {
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        out.push_back('\'');
        ++i;
      } else {
        return out;
      }
    } else {
      out.push_back(c);
    }
  }
  return std::nullopt;
}

// The oid in `<fragment>'16385'`, e.g. fragment "where c.oid = ".
std::optional<uint32_t> oid_after(const query& q, std::string_view fragment) {
  size_t at = q.lower.find(fragment);
  if (at == std::string::npos) return std::nullopt;
  auto literal = string_literal(q.text, at + fragment.size());
  if (!literal || literal->empty() || literal->size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : *literal) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return uint32_t(v);
}

// The relkinds in `c.relkind IN ('r','p','')`; empty when the query has no such list.
std::string relkinds_of(const query& q) {
  constexpr std::string_view fragment = "c.relkind in (";
  size_t at = q.lower.find(fragment);
  std::string kinds;
  if (at == std::string::npos) return kinds;
  bool in_quote = false;
  for (size_t i = at + fragment.size(); i < q.text.size() && q.text[i] != ')'; ++i) {
    if (q.text[i] == '\'') {
      in_quote = !in_quote;
    } else if (in_quote) {
      kinds.push_back(q.text[i]);
    }
  }
  return kinds;
}

namespace {

// Splits `text` at top-level occurrences of `separator` (outside quotes and parentheses).
std::vector<std::pair<size_t, size_t>> top_level_split(std::string_view lower, std::string_view separator) {
  std::vector<std::pair<size_t, size_t>> parts;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < lower.size(); ++i) {
    const char c = lower[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (depth == 0 && lower.compare(i, separator.size(), separator) == 0) {
      parts.emplace_back(start, i - start);
      start = i + separator.size();
      i = start - 1;
    }
  }
  parts.emplace_back(start, lower.size() - start);
  return parts;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::string item_alias(const select_item& item) {
  auto parts = top_level_split(item.lower, " as ");
  if (parts.size() < 2) return {};
  std::string_view tail = std::string_view(item.text).substr(parts.back().first, parts.back().second);
  std::string alias = trim(tail);
  if (alias.size() >= 2 && alias.front() == '"' && alias.back() == '"') return alias.substr(1, alias.size() - 2);
  if (alias.empty() || !std::all_of(alias.begin(), alias.end(), is_ident_char)) return {};
  for (char& c : alias) c = lower_ascii(c);
  return alias;
}

// PostgreSQL's name for an unaliased item: the column of `x.col`, the function of `f(...)`.
std::string item_name(const select_item& item) {
  if (!item.alias.empty()) return item.alias;
  std::string_view s = item.lower;
  size_t paren = s.find('(');
  if (paren != std::string_view::npos && paren > 0) s = s.substr(0, paren);
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return is_ident_char(c) || c == '.'; })) {
    return "?column?";
  }
  size_t dot = s.rfind('.');
  return std::string(dot == std::string_view::npos ? s : s.substr(dot + 1));
}

}  // namespace

std::optional<std::vector<select_item>> select_items(const query& q) {
  if (!q.starts("select ")) return std::nullopt;
  constexpr size_t body = 7;
  auto from = top_level_split(std::string_view(q.lower).substr(body), " from ");
  if (from.size() < 2) return std::nullopt;
  const std::string_view list = std::string_view(q.text).substr(body, from.front().second);
  const std::string_view list_lower = std::string_view(q.lower).substr(body, from.front().second);
  std::vector<select_item> items;
  for (auto [at, len] : top_level_split(list_lower, ",")) {
    select_item item;
    item.text = trim(list.substr(at, len));
    item.lower = trim(list_lower.substr(at, len));
    if (item.text.empty()) return std::nullopt;
    item.alias = item_alias(item);
    item.key = item.alias;
    for (char& c : item.key) c = lower_ascii(c);
    item.name = item_name(item);
    items.push_back(std::move(item));
  }
  return items;
}

field field_of(pg type, std::string name) {
  field f;
  f.name = std::move(name);
  auto set = [&f](uint32_t type_oid, int16_t size, type_id id, bool text_only) {
    f.type_oid = type_oid;
    f.type_size = size;
    f.type = column_type{id};
    f.text_only = text_only;
  };
  switch (type) {
    case pg::name: set(oid::name, 64, type_id::text, false); break;
    case pg::text: set(oid::text, -1, type_id::text, false); break;
    case pg::chr: set(18, 1, type_id::text, true); break;
    case pg::boolean: set(oid::boolean, 1, type_id::boolean, false); break;
    case pg::int2: set(oid::int2, 2, type_id::int16, false); break;
    case pg::int4: set(oid::int4, 4, type_id::int32, false); break;
    case pg::oid: set(oid::oid, 4, type_id::int64, false); break;
    case pg::timestamptz: set(oid::timestamptz, 8, type_id::text, true); break;
    case pg::name_array: set(1003, -1, type_id::text, true); break;
  }
  return f;
}

}  // namespace strata::sql::psql
