#include "auth/plain.h"

#include <fmt/format.h>

namespace strata::auth {

result<plain_message> parse_plain(std::string_view message) {
  if (message.size() > plain_message_bytes_max) {
    return make_error(errc::invalid_argument,
                      fmt::format("the PLAIN message is {} bytes, more than the {} allowed", message.size(),
                                  plain_message_bytes_max));
  }
  const size_t first = message.find('\0');
  const size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return make_error(errc::invalid_argument, "the PLAIN message must be AUTHZID NUL USER NUL PASSWORD");
  }
  if (message.find('\0', second + 1) != std::string_view::npos) {
    return make_error(errc::invalid_argument, "the PLAIN message has a NUL inside the password");
  }
  plain_message m;
  m.authzid = std::string(message.substr(0, first));
  m.user = std::string(message.substr(first + 1, second - first - 1));
  m.password = std::string(message.substr(second + 1));
  if (m.user.empty()) return make_error(errc::invalid_argument, "the PLAIN message has an empty user name");
  if (m.password.empty()) return make_error(errc::invalid_argument, "the PLAIN message has an empty password");
  if (!m.authzid.empty() && m.authzid != m.user) {
    return make_error(errc::invalid_argument,
                      "the PLAIN authorization identity differs from the user; acting as another user is not supported");
  }
  return m;
}

}  // namespace strata::auth
