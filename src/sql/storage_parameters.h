// PostgreSQL's storage parameters for tables, `CREATE TABLE ... WITH (name =
// value, ...)`: fillfactor, the autovacuum settings, toast_tuple_target and
// the rest of PostgreSQL 15's heap options. They tune PostgreSQL's pages and
// vacuum, which Strata's columnar logs do not have, so a valid one is
// accepted and changes nothing. Each is checked as PostgreSQL checks it, so a
// value PostgreSQL would refuse is refused here too.
#pragma once

#include <optional>
#include <string>

#include "sql/session.h"

namespace strata::sql {

// name: lower case, "toast." allowed in front where PostgreSQL allows it.
// value: the literal's text; nullopt when the option is written without one
// (which PostgreSQL reads as true). SQLSTATE 22023 for an unknown name or a
// bad value.
std::optional<error> check_storage_parameter(const std::string& name, const std::optional<std::string>& value);

}  // namespace strata::sql
