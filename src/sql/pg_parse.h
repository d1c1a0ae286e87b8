// pg_parse: PostgreSQL 15's own grammar (libpg_query, from Debian's
// libpg-query-dev), the parser statements go through before anything
// decides how to run them. A statement is routed by the kind of its parse
// tree, never by recognising its text, and its parts (names, options) are
// read off the tree.
//
// The tree is libpg_query's protobuf-c form (pg_query.pb-c.h): plain C
// structs with a `node_case` per Node, owned by the pg_tree that parsed them.
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"
#include "sql/statements.h"

namespace strata::sql {

class pg_tree {
 public:
  // PostgreSQL's syntax error (SQLSTATE 42601, in its words, with the
  // position) when the text is not valid PostgreSQL.
  static outcome<pg_tree> parse(std::string_view sql);

  // Statements in the text; 0 for an empty string, comments or only ";".
  size_t size() const { return result_->n_stmts; }
  const PgQuery__Node& statement(size_t i) const { return *result_->stmts[i]->stmt; }
  // For pg_rewrite, which changes the tree in place.
  PgQuery__ParseResult* mutable_root() { return result_.get(); }

 private:
  struct free_result {
    void operator()(PgQuery__ParseResult* r) const;
  };
  explicit pg_tree(PgQuery__ParseResult* r) : result_(r) {}
  std::unique_ptr<PgQuery__ParseResult, free_result> result_;
};

// libpg_query's deparser: the SQL text of a whole parse result, of one
// statement node, or of one expression node (printed as `SELECT <expr>` and
// cut back to the expression). Nodes are only read. XX000 when it fails.
outcome<std::string> deparse(const PgQuery__ParseResult& root);
outcome<std::string> deparse_statement(PgQuery__Node* statement);
outcome<std::string> deparse_expression(PgQuery__Node* expression);

// A String node's text (an identifier or a keyword option); empty for a
// null node or any other kind.
std::string_view node_text(const PgQuery__Node* n);
// An A_Const's integer, or its string; 0 or empty for any other node.
int64_t const_int(const PgQuery__Node* n);
std::string_view const_text(const PgQuery__Node* n);
// An A_Const as it was written (integer, decimal, string or boolean); nullopt
// for a null node or any other kind.
std::optional<std::string> const_literal(const PgQuery__Node* n);
// A DefElem's argument (WITH (fillfactor = 70), (autovacuum_enabled = off)):
// a number, a bare word or a constant, as written; nullopt when absent.
std::optional<std::string> option_value(const PgQuery__Node* n);
// A qualified name (a List of String nodes) as its parts, e.g. {"public", "t"}.
std::vector<std::string> name_parts(const PgQuery__Node* list);

// DROP TABLE's names and IF EXISTS (CASCADE and RESTRICT mean the same while
// nothing can depend on a table).
drop_table_statement read_drop_table(const PgQuery__DropStmt& drop);

// The text of a SELECT without its top-level locking clauses (FOR UPDATE,
// FOR SHARE, ... with OF, NOWAIT, SKIP LOCKED), found with PostgreSQL's own
// scanner; the parse tree holds what they said.
outcome<std::string> without_locking_clauses(std::string_view sql);

}  // namespace strata::sql
