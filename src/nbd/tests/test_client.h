// A blocking NBD client over plain POSIX sockets for the server tests, with a
// receive timeout so that a server bug fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "nbd/protocol.h"
#include "nbd/tests/wire.h"

namespace strata::nbd::testing {

class test_client {
 public:
  explicit test_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeout(5);
  }
  explicit test_client(const std::string& unix_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, unix_path.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    set_timeout(5);
  }
  ~test_client() { ::close(fd_); }
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  bool connected() const { return connected_; }

  void set_timeout(int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  bool send(const std::vector<uint8_t>& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<size_t>(n);
    }
    return true;
  }

  std::optional<std::vector<uint8_t>> recv(size_t n) {
    std::vector<uint8_t> out(n);
    size_t at = 0;
    while (at < n) {
      ssize_t got = ::recv(fd_, out.data() + at, n - at, 0);
      if (got <= 0) return std::nullopt;
      at += static_cast<size_t>(got);
    }
    return out;
  }

  // True once the server has closed the connection (EOF or reset); false on
  // a timeout or if bytes arrive.
  bool closed_by_server() {
    uint8_t byte;
    ssize_t got = ::recv(fd_, &byte, 1, 0);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  // Reads the greeting and answers with `flags`.
  bool greet(uint32_t flags = client_flag_fixed_newstyle | client_flag_no_zeroes) {
    auto greeting = recv(greeting_bytes);
    if (!greeting || load_u64(greeting->data()) != nbd_magic) return false;
    std::vector<uint8_t> f;
    put32(f, flags);
    return send(f);
  }

  // Sends an option and reads replies up to the final one (ACK or an error).
  std::vector<option_reply_msg> option(uint32_t opt, const std::vector<uint8_t>& data = {}) {
    std::vector<option_reply_msg> out;
    if (!send(option_bytes(opt, data))) return out;
    for (;;) {
      auto header = recv(option_reply_header_bytes);
      if (!header) return out;
      option_reply_msg m;
      m.option = load_u32(header->data() + 8);
      m.type = load_u32(header->data() + 12);
      uint32_t length = load_u32(header->data() + 16);
      if (length > 0) {
        auto data_bytes = recv(length);
        if (!data_bytes) return out;
        m.data = std::move(*data_bytes);
      }
      out.push_back(std::move(m));
      if (out.back().type == rep_ack || (out.back().type & 0x80000000u) != 0) return out;
    }
  }

  // The whole handshake up to transmission; true on NBD_REP_ACK to GO.
  bool go(const std::string& name, bool structured = true, bool meta = true) {
    if (!greet()) return false;
    if (structured) {
      auto r = option(opt_structured_reply);
      if (r.empty() || r.back().type != rep_ack) return false;
    }
    if (structured && meta) {
      auto r = option(opt_set_meta_context, meta_data(name, {"base:allocation"}));
      if (r.empty() || r.back().type != rep_ack) return false;
    }
    auto r = option(opt_go, info_data(name, {info_block_size}));
    if (r.empty() || r.back().type != rep_ack) return false;
    size_ = load_u64(r.front().data.data() + 2);
    return true;
  }

  bool request(uint16_t type, uint64_t handle, uint64_t offset, uint32_t length, uint16_t flags = 0,
               const std::vector<uint8_t>& payload = {}) {
    auto bytes = request_bytes(type, flags, handle, offset, length);
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    return send(bytes);
  }

  // One reply message: a simple reply header (data, if any, is the caller's
  // to read) or one structured chunk.
  struct message {
    bool ok = false;
    bool structured = false;
    uint32_t error = 0;  // simple replies; for an error chunk, its error field
    uint64_t handle = 0;
    uint16_t flags = 0;
    uint16_t type = 0;
    std::vector<uint8_t> payload;
  };

  message read_message() {
    message m;
    auto magic = recv(4);
    if (!magic) return m;
    if (load_u32(magic->data()) == simple_reply_magic) {
      auto rest = recv(12);
      if (!rest) return m;
      m.error = load_u32(rest->data());
      m.handle = load_u64(rest->data() + 4);
      m.ok = true;
      return m;
    }
    if (load_u32(magic->data()) != structured_reply_magic) return m;
    auto rest = recv(16);
    if (!rest) return m;
    m.structured = true;
    m.flags = load_u16(rest->data());
    m.type = load_u16(rest->data() + 2);
    m.handle = load_u64(rest->data() + 4);
    uint32_t length = load_u32(rest->data() + 12);
    if (length > 0) {
      auto p = recv(length);
      if (!p) return m;
      m.payload = std::move(*p);
    }
    if ((m.type & 0x8000) != 0 && m.payload.size() >= 4) m.error = load_u32(m.payload.data());
    m.ok = true;
    return m;
  }

  // A structured READ reply assembled into bytes; nullopt on an error chunk.
  std::optional<std::vector<uint8_t>> read_structured(uint64_t offset, uint32_t length, uint64_t* handle = nullptr) {
    std::vector<uint8_t> out(length, 0xFF);
    for (;;) {
      auto m = read_message();
      if (!m.ok || !m.structured || m.error != 0) return std::nullopt;
      if (handle) *handle = m.handle;
      if (m.type == reply_type_offset_data) {
        uint64_t at = load_u64(m.payload.data()) - offset;
        std::copy(m.payload.begin() + 8, m.payload.end(), out.begin() + static_cast<long>(at));
      } else if (m.type == reply_type_offset_hole) {
        uint64_t at = load_u64(m.payload.data()) - offset;
        uint32_t n = load_u32(m.payload.data() + 8);
        std::fill(out.begin() + static_cast<long>(at), out.begin() + static_cast<long>(at + n), 0);
      }
      if (m.flags & reply_flag_done) return out;
    }
  }

  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  uint64_t size_ = 0;
};

}  // namespace strata::nbd::testing
