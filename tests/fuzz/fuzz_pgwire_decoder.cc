// libFuzzer target: arbitrary bytes as what a PostgreSQL client sends, through
// the sans-IO protocol core (src/pgwire/backend: framing, startup,
// authentication, simple and extended query, COPY) against the in-memory fake
// engine of the pgwire unit tests. No sockets and no Asio.
//
// The first input byte picks the setting:
//   bits 0-1: auth method (0, 3 trust; 1 scram-sha-256; 2 md5), user "alice", password "pw"
//   bit 2:    the client is on the loopback interface
//   bit 3:    feed the rest in small pieces (sizes taken from the input) instead of at once
//   bit 4:    skip the startup: a canned trust startup as user alice comes first
//
// Besides the sanitizers, the output is checked: after the optional 'N'
// answers to SSL/GSS requests it is a sequence of well-formed backend
// messages of known types, nothing follows a FATAL error or the close, and
// the backend never asks for more input while it has pending work.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "pgwire/backend.h"
#include "pgwire/tests/fake_engine.h"

namespace {

using namespace strata;
using namespace strata::pgwire;

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "pgwire output contract violated: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) violation(what);
}

constexpr std::string_view backend_types = "R K 2 3 C d c G H D I E n t S 1 s Z T v";

bool known_type(char t) { return t != ' ' && backend_types.find(t) != std::string_view::npos; }

// Checks one chunk of output; `startup` says 'N' bytes may appear between messages.
void check_output(const std::string& out, bool& saw_fatal) {
  size_t at = 0;
  while (at < out.size()) {
    require(!saw_fatal, "output after a FATAL error");
    if (out[at] == 'N') {
      ++at;
      continue;
    }
    require(out.size() - at >= 5, "truncated message header");
    const char type = out[at];
    require(known_type(type), "unknown backend message type");
    uint32_t len = 0;
    std::memcpy(&len, out.data() + at + 1, 4);
    len = __builtin_bswap32(len);
    require(len >= 4 && out.size() - at - 1 >= len, "message length does not match its bytes");
    if (type == 'E' && std::string_view(out.data() + at + 5, len - 4).find("SFATAL") != std::string_view::npos) {
      saw_fatal = true;
    }
    at += 1 + len;
  }
}

struct world {
  testing::fake_engine engine;
  auth_settings trust, scram, md5;
  world() {
    engine.state().sleep_enabled = false;
    engine.state().rows_max = 2000;
    auto fixed = [](std::span<uint8_t> out) {
      for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i * 7 + 1);
    };
    scram.method = auth_method::scram_sha_256;
    scram.users.push_back(make_credential("alice", "pw", fixed));
    md5.method = auth_method::md5;
    md5.users = scram.users;
  }
};

world& shared_world() {
  static world w;
  return w;
}

std::string canned_startup() {
  std::string body;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) body.push_back(char((v >> s) & 0xff));
  };
  be32(protocol_version_3);
  body += std::string("user\0alice\0database\0db\0\0", 24);
  std::string packet;
  const uint32_t len = uint32_t(body.size() + 4);
  for (int s = 24; s >= 0; s -= 8) packet.push_back(char((len >> s) & 0xff));
  return packet + body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  world& w = shared_world();
  {
    auto& st = w.engine.state();
    std::lock_guard lock(st.mu);
    st.copied.clear();
    st.aborted.clear();
    st.executions.clear();
    st.prepare_hints.clear();
  }
  const uint8_t mode = data[0];
  backend_env env;
  env.engine = &w.engine;
  env.auth = (mode & 3) == 1 ? &w.scram : (mode & 3) == 2 ? &w.md5 : &w.trust;
  env.limits.message_bytes_max = 64 * 1024;
  env.limits.output_bytes_soft_max = 4096;
  env.limits.fetch_rows_max = 64;
  env.limits.statements_max = 8;
  env.limits.portals_max = 8;
  env.limits.copy_out_chunk_bytes = 512;
  env.random = [](std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i + 3);
  };
  backend b(env, (mode & 4) != 0, backend_key{1, 2});
  bool saw_fatal = false;
  auto feed = [&](std::span<const uint8_t> bytes) {
    b.feed(bytes);
    require(!b.has_pending(), "feed() returned with pending work");
    check_output(b.output(), saw_fatal);
    b.output().clear();
  };
  if (mode & 16) {
    const std::string s = canned_startup();
    feed({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (mode & 8) {
    // Piece sizes come from the bytes themselves: 1..16.
    while (!rest.empty() && !b.closing()) {
      const size_t n = std::min<size_t>(rest.size(), size_t(rest[0] % 16) + 1);
      feed(rest.first(n));
      rest = rest.subspan(n);
    }
  } else {
    feed(rest);
  }
  if (b.closing()) {
    b.feed(std::span<const uint8_t>(data, size));  // a closed backend says nothing more
    require(b.output().empty(), "output after the close");
  }
  return 0;
}
