// Bearer tokens for the admin API (--http-token-file): the file's tokens,
// kept as SHA-256 digests so that comparing one takes the same time whatever
// it holds, and the check every request but GET /health goes through.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http_types.h"
#include "base/result.h"
#include "base/units.h"

namespace strata::admin {

inline constexpr size_t token_chars_min = 16;
inline constexpr size_t token_chars_max = 4096;
inline constexpr uint64_t token_file_bytes_max = 1 * MiB;

class token_set {
 public:
  token_set() = default;  // no tokens: every request is let through

  // One token a line; blank lines and lines starting with # are skipped.
  // Errors name `flag` and `path` and say what to fix: no token at all, or a
  // token shorter than token_chars_min or holding spaces.
  static result<token_set> parse(std::string_view text, std::string_view flag, std::string_view path);
  static result<token_set> load(const std::string& path, std::string_view flag);

  bool empty() const { return digests_.empty(); }
  size_t size() const { return digests_.size(); }
  // True when `token` is one of the set. Compares against every token, in
  // constant time each, so the time taken does not tell which one is close.
  bool accepts(std::string_view token) const;

 private:
  std::vector<std::array<uint8_t, 32>> digests_;
};

// Whether the request may go on: nullopt when it may (no tokens configured,
// GET /health, or a Bearer token of the set in `authorization`), else the 401
// to send, with WWW-Authenticate and a message on how to pass a token.
std::optional<response> check_bearer(const token_set& tokens, std::string_view method, std::string_view target,
                                     std::string_view authorization);

}  // namespace strata::admin
