#include "sql/pg_parse.h"

namespace strata::sql {

void pg_tree::free_result::operator()(PgQuery__ParseResult* r) const { pg_query__parse_result__free_unpacked(r, nullptr); }

outcome<pg_tree> pg_tree::parse(std::string_view sql) {
  const std::string text(sql);  // libpg_query reads up to a NUL
  PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(text.c_str());
  if (parsed.error != nullptr) {
    error e{"42601", parsed.error->message, {}, {}};
    e.position = parsed.error->cursorpos > 0 ? static_cast<uint32_t>(parsed.error->cursorpos) : 0;
    pg_query_free_protobuf_parse_result(parsed);
    return e;
  }
  auto* tree = pg_query__parse_result__unpack(nullptr, parsed.parse_tree.len,
                                              reinterpret_cast<const uint8_t*>(parsed.parse_tree.data));
  pg_query_free_protobuf_parse_result(parsed);
  if (tree == nullptr) return error{"XX000", "the PostgreSQL parser's tree could not be read back", {}, {}};
  return pg_tree(tree);
}

outcome<std::string> deparse(const PgQuery__ParseResult& root) {
  std::string packed(pg_query__parse_result__get_packed_size(&root), '\0');
  pg_query__parse_result__pack(&root, reinterpret_cast<uint8_t*>(packed.data()));
  PgQueryProtobuf buffer{packed.size(), packed.data()};
  PgQueryDeparseResult deparsed = pg_query_deparse_protobuf(buffer);
  if (deparsed.error != nullptr) {
    error e{"XX000", std::string("could not print the statement back: ") + deparsed.error->message, {}, {}};
    pg_query_free_deparse_result(deparsed);
    return e;
  }
  std::string out = deparsed.query;
  pg_query_free_deparse_result(deparsed);
  return out;
}

outcome<std::string> deparse_statement(PgQuery__Node* statement) {
  PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
  raw.stmt = statement;
  PgQuery__RawStmt* raws[] = {&raw};
  PgQuery__ParseResult root = PG_QUERY__PARSE_RESULT__INIT;
  root.version = PG_VERSION_NUM;
  root.n_stmts = 1;
  root.stmts = raws;
  return deparse(root);
}

outcome<std::string> deparse_expression(PgQuery__Node* expression) {
  PgQuery__ResTarget target = PG_QUERY__RES_TARGET__INIT;
  target.val = expression;
  PgQuery__Node target_node = PG_QUERY__NODE__INIT;
  target_node.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
  target_node.res_target = &target;
  PgQuery__Node* targets[] = {&target_node};
  PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
  select.n_target_list = 1;
  select.target_list = targets;
  select.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
  select.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
  PgQuery__Node node = PG_QUERY__NODE__INIT;
  node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
  node.select_stmt = &select;
  auto text = deparse_statement(&node);
  if (!text.ok()) return text;
  constexpr std::string_view select_word = "SELECT ";
  if (!text.value().starts_with(select_word)) return error{"XX000", "could not print an expression back", {}, {}};
  return text.value().substr(select_word.size());
}

std::string_view node_text(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_STRING || n->string == nullptr) return {};
  return n->string->sval;
}

int64_t const_int(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_A_CONST) return 0;
  const PgQuery__AConst& c = *n->a_const;
  if (c.val_case == PG_QUERY__A__CONST__VAL_IVAL && c.ival != nullptr) return c.ival->ival;
  if (c.val_case == PG_QUERY__A__CONST__VAL_BOOLVAL && c.boolval != nullptr) return c.boolval->boolval ? 1 : 0;
  return 0;
}

std::string_view const_text(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_A_CONST) return {};
  const PgQuery__AConst& c = *n->a_const;
  if (c.val_case != PG_QUERY__A__CONST__VAL_SVAL || c.sval == nullptr) return {};
  return c.sval->sval;
}

std::optional<std::string> const_literal(const PgQuery__Node* n) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_A_CONST) return std::nullopt;
  const PgQuery__AConst& c = *n->a_const;
  switch (c.val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL: return std::to_string(c.ival != nullptr ? c.ival->ival : 0);
    case PG_QUERY__A__CONST__VAL_FVAL: return std::string(c.fval != nullptr ? c.fval->fval : "0");
    case PG_QUERY__A__CONST__VAL_SVAL: return std::string(const_text(n));
    case PG_QUERY__A__CONST__VAL_BOOLVAL: return std::string(const_int(n) != 0 ? "true" : "false");
    default: return std::nullopt;
  }
}

std::optional<std::string> option_value(const PgQuery__Node* n) {
  if (n == nullptr) return std::nullopt;
  switch (n->node_case) {
    case PG_QUERY__NODE__NODE_INTEGER: return std::to_string(n->integer->ival);
    case PG_QUERY__NODE__NODE_FLOAT: return std::string(n->float_->fval);
    case PG_QUERY__NODE__NODE_STRING: return std::string(node_text(n));
    case PG_QUERY__NODE__NODE_BOOLEAN: return std::string(n->boolean->boolval ? "true" : "false");
    default: return const_literal(n);
  }
}

std::vector<std::string> name_parts(const PgQuery__Node* list) {
  std::vector<std::string> parts;
  if (list == nullptr || list->node_case != PG_QUERY__NODE__NODE_LIST) return parts;
  for (size_t i = 0; i < list->list->n_items; ++i) parts.emplace_back(node_text(list->list->items[i]));
  return parts;
}

drop_table_statement read_drop_table(const PgQuery__DropStmt& drop) {
  drop_table_statement out;
  out.if_exists = drop.missing_ok;
  for (size_t i = 0; i < drop.n_objects; ++i) {
    auto parts = name_parts(drop.objects[i]);
    qualified_name q;
    q.name = parts.empty() ? std::string() : parts.back();
    if (parts.size() >= 2) q.schema = parts[parts.size() - 2];
    out.tables.push_back(std::move(q));
  }
  return out;
}

}  // namespace strata::sql

namespace strata::sql {

namespace {

bool starts_locking_clause(PgQuery__Token t) {
  return t == PG_QUERY__TOKEN__UPDATE || t == PG_QUERY__TOKEN__NO || t == PG_QUERY__TOKEN__SHARE ||
         t == PG_QUERY__TOKEN__KEY;
}

// What may follow a SELECT's locking clauses in PostgreSQL's grammar.
bool ends_locking_clause(PgQuery__Token t) {
  return t == PG_QUERY__TOKEN__LIMIT || t == PG_QUERY__TOKEN__OFFSET || t == PG_QUERY__TOKEN__FETCH ||
         t == PG_QUERY__TOKEN__ASCII_59;
}

}  // namespace

outcome<std::string> without_locking_clauses(std::string_view sql) {
  const std::string text(sql);
  PgQueryScanResult scanned = pg_query_scan(text.c_str());
  if (scanned.error != nullptr) {
    error e{"42601", scanned.error->message, {}, {}};
    pg_query_free_scan_result(scanned);
    return e;
  }
  auto* tokens = pg_query__scan_result__unpack(nullptr, scanned.pbuf.len, reinterpret_cast<const uint8_t*>(scanned.pbuf.data));
  pg_query_free_scan_result(scanned);
  if (tokens == nullptr) return error{"XX000", "the PostgreSQL scanner's tokens could not be read back", {}, {}};
  std::string out;
  size_t copied = 0;
  int depth = 0;
  for (size_t i = 0; i < tokens->n_tokens; ++i) {
    const PgQuery__Token t = tokens->tokens[i]->token;
    if (t == PG_QUERY__TOKEN__ASCII_40 || t == PG_QUERY__TOKEN__ASCII_91) ++depth;
    if (t == PG_QUERY__TOKEN__ASCII_41 || t == PG_QUERY__TOKEN__ASCII_93) --depth;
    if (depth != 0 || t != PG_QUERY__TOKEN__FOR || i + 1 >= tokens->n_tokens ||
        !starts_locking_clause(tokens->tokens[i + 1]->token)) {
      continue;
    }
    // FOR ... runs to the next LIMIT, OFFSET, FETCH, FOR, ';' or the end.
    size_t j = i + 1;
    while (j < tokens->n_tokens && !ends_locking_clause(tokens->tokens[j]->token) &&
           tokens->tokens[j]->token != PG_QUERY__TOKEN__FOR) {
      ++j;
    }
    const size_t begin = size_t(tokens->tokens[i]->start);
    const size_t end = j < tokens->n_tokens ? size_t(tokens->tokens[j]->start) : text.size();
    out.append(text, copied, begin - copied);
    out.push_back(' ');
    copied = end;
    i = j - 1;
  }
  out.append(text, copied, std::string::npos);
  pg_query__scan_result__free_unpacked(tokens, nullptr);
  return out;
}

}  // namespace strata::sql
