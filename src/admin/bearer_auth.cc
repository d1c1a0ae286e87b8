#include "admin/bearer_auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "admin/reply.h"

namespace strata::admin {
namespace {

constexpr const char* make_token_hint = "e.g. the output of `openssl rand -hex 32`";

std::array<uint8_t, 32> digest_of(std::string_view text) {
  std::array<uint8_t, 32> out{};
  unsigned int size = 0;
  const int ok = EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr);
  STRATA_ASSERT(ok == 1 && size == out.size(), "SHA-256 of a bearer token failed");
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_bearer_scheme(std::string_view scheme) {
  constexpr std::string_view bearer = "bearer";
  if (scheme.size() != bearer.size()) return false;
  for (size_t i = 0; i < bearer.size(); ++i) {
    if ((scheme[i] | 0x20) != bearer[i]) return false;
  }
  return true;
}

// The token of "Bearer TOKEN" (the scheme in any case), or nullopt.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !is_bearer_scheme(authorization.substr(0, space))) return std::nullopt;
  std::string_view token = trim(authorization.substr(space + 1));
  if (token.empty()) return std::nullopt;
  return token;
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

bool is_health(std::string_view method, std::string_view target) {
  return method == "GET" && target.substr(0, target.find('?')) == "/health";
}

response unauthorized(std::string_view challenge, std::string_view message) {
  response reply = error_response(401, "unauthorized", message);
  reply.headers.emplace_back("WWW-Authenticate", std::string(challenge));
  return reply;
}

}  // namespace

result<token_set> token_set::parse(std::string_view text, std::string_view flag, std::string_view path) {
  token_set out;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.find_first_of(" \t") != std::string_view::npos) {
      return make_error(errc::invalid_argument,
                        fmt::format("{} {}: line {} holds a space; put one token on each line", flag, path, line_number));
    }
    if (line.size() < token_chars_min || line.size() > token_chars_max) {
      return make_error(errc::invalid_argument,
                        fmt::format("{} {}: the token on line {} is {} characters; use {} to {} characters, {}", flag,
                                    path, line_number, line.size(), token_chars_min, token_chars_max, make_token_hint));
    }
    out.digests_.push_back(digest_of(line));
  }
  if (out.digests_.empty()) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} {} holds no token; put one token of {} or more characters on a line, {}", flag,
                                  path, token_chars_min, make_token_hint));
  }
  return out;
}

result<token_set> token_set::load(const std::string& path, std::string_view flag) {
  if (path.empty()) {
    return make_error(errc::invalid_argument, fmt::format("{} is empty; pass the file that holds the tokens", flag));
  }
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} {}: cannot open it: {}; make it readable by the user strata runs as", flag, path,
                                  std::strerror(errno)));
  }
  std::string text(token_file_bytes_max + 1, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), file.get()));
  if (std::ferror(file.get())) {
    return make_error(errc::invalid_argument, fmt::format("{} {}: cannot read it: {}; pass a readable text file",
                                                          flag, path, std::strerror(errno)));
  }
  if (text.size() > token_file_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("{} {} is larger than {} bytes; it should hold a few tokens, one a line", flag, path,
                                  token_file_bytes_max));
  }
  return parse(text, flag, path);
}

bool token_set::accepts(std::string_view token) const {
  const auto digest = digest_of(token);
  bool found = false;
  for (const auto& known : digests_) {
    found |= CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0;
  }
  return found;
}

std::optional<response> check_bearer(const token_set& tokens, std::string_view method, std::string_view target,
                                     std::string_view authorization) {
  if (tokens.empty() || is_health(method, target)) return std::nullopt;
  auto token = bearer_token(authorization);
  if (!token) {
    return unauthorized(R"(Bearer realm="strata")",
                        "this admin API needs a token: send the header `Authorization: Bearer TOKEN` with a token "
                        "from the server's --http-token-file (the strata CLI sends $STRATA_TOKEN)");
  }
  if (!tokens.accepts(*token)) {
    return unauthorized(R"(Bearer realm="strata", error="invalid_token")",
                        "the bearer token is not one of the server's --http-token-file; send a token from that file "
                        "(the strata CLI sends $STRATA_TOKEN)");
  }
  return std::nullopt;
}

}  // namespace strata::admin
