// libpq connection strings as the database-clone face handles them: the
// password is taken out (it travels to tools in PGPASSWORD or a passfile, never
// on a command line that /proc shows), and one key can be replaced.
#pragma once

#include <string>

#include "base/result.h"

namespace strata::dbclone {

struct conninfo_parts {
  std::string without_password;  // key=value form, values quoted
  std::string password;          // "" when none was given
  std::string user;
  // without_password with the password added back, for libpq calls made
  // inside Strata (never for a command line).
  std::string with_password() const;
};

// Parses a key=value conninfo or a postgresql:// URI (PQconninfoParse).
// override_key/override_value, when set, replace or add that key.
result<conninfo_parts> split_conninfo(const std::string& conninfo, const std::string& override_key = "",
                                      const std::string& override_value = "");

// A value quoted for a conninfo: 'it''s' style with backslash escapes.
std::string conninfo_value(const std::string& value);

}  // namespace strata::dbclone
