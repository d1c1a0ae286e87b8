// A completion condition for asio::async_read and async_write that moves a
// whole buffer with as few system calls as the socket allows.
//
// Why: Asio's transfer_all asks each read_some or write_some for at most
// 64 KiB, so a 1 MiB frame takes at least 16 trips through the event loop,
// each interleaved with every other connection's work on that thread. Replica
// fetches of large responses were measured spending most of their time so.
// This condition asks for the rest of the buffer every time; the kernel moves
// as much as the socket buffer holds.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <limits>

namespace strata::net {

struct transfer_whole_buffer {
  size_t operator()(const boost::system::error_code& ec, size_t /*transferred*/) const {
    return ec ? 0 : std::numeric_limits<size_t>::max();
  }
};

}  // namespace strata::net
