// PostgreSQL frontend/backend protocol 3.0: constants, message framing
// checks, a bounds-checked big-endian reader and the message writer. Pure
// code: no sockets, no Asio, so the fuzz target and the unit tests drive it
// byte for byte. What Strata speaks is described in docs/formats/pgwire.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/big_endian.h"
#include "base/units.h"

namespace strata::pgwire {

// Startup packet request codes (the int32 after the length word).
inline constexpr uint32_t protocol_version_3 = 196608;  // 3.0
inline constexpr uint32_t cancel_request_code = 80877102;
inline constexpr uint32_t ssl_request_code = 80877103;
inline constexpr uint32_t gssenc_request_code = 80877104;

inline constexpr size_t startup_header_bytes = 4;   // length (including itself)
inline constexpr size_t message_header_bytes = 5;   // type byte + length (including itself)

// Frontend message types.
namespace fe {
inline constexpr char bind = 'B';
inline constexpr char close = 'C';
inline constexpr char copy_data = 'd';
inline constexpr char copy_done = 'c';
inline constexpr char copy_fail = 'f';
inline constexpr char describe = 'D';
inline constexpr char execute = 'E';
inline constexpr char flush = 'H';
inline constexpr char function_call = 'F';
inline constexpr char parse = 'P';
inline constexpr char password = 'p';  // also SASLInitialResponse and SASLResponse
inline constexpr char query = 'Q';
inline constexpr char sync = 'S';
inline constexpr char terminate = 'X';
}  // namespace fe

// Backend message types.
namespace be {
inline constexpr char authentication = 'R';
inline constexpr char backend_key_data = 'K';
inline constexpr char bind_complete = '2';
inline constexpr char close_complete = '3';
inline constexpr char command_complete = 'C';
inline constexpr char copy_data = 'd';
inline constexpr char copy_done = 'c';
inline constexpr char copy_in_response = 'G';
inline constexpr char copy_out_response = 'H';
inline constexpr char data_row = 'D';
inline constexpr char empty_query_response = 'I';
inline constexpr char error_response = 'E';
inline constexpr char no_data = 'n';
inline constexpr char parameter_description = 't';
inline constexpr char parameter_status = 'S';
inline constexpr char parse_complete = '1';
inline constexpr char portal_suspended = 's';
inline constexpr char ready_for_query = 'Z';
inline constexpr char row_description = 'T';
}  // namespace be

// Authentication request codes (the int32 of an 'R' message).
namespace auth_code {
inline constexpr int32_t ok = 0;
inline constexpr int32_t md5_password = 5;
inline constexpr int32_t sasl = 10;
inline constexpr int32_t sasl_continue = 11;
inline constexpr int32_t sasl_final = 12;
}  // namespace auth_code

// SQLSTATEs pgwire itself raises (Appendix A of the PostgreSQL manual).
namespace sqlstate {
inline constexpr const char* protocol_violation = "08P01";
inline constexpr const char* feature_not_supported = "0A000";
inline constexpr const char* invalid_authorization = "28000";
inline constexpr const char* invalid_password = "28P01";
inline constexpr const char* invalid_statement_name = "26000";
inline constexpr const char* invalid_cursor_name = "34000";
inline constexpr const char* duplicate_prepared_statement = "42P05";
inline constexpr const char* duplicate_cursor = "42P03";
inline constexpr const char* no_active_sql_transaction = "25P01";
inline constexpr const char* in_failed_sql_transaction = "25P02";
inline constexpr const char* object_not_in_prerequisite_state = "55000";
inline constexpr const char* object_in_use = "55006";
inline constexpr const char* syntax_error = "42601";
inline constexpr const char* program_limit_exceeded = "54000";
inline constexpr const char* too_many_connections = "53300";
inline constexpr const char* invalid_binary_representation = "22P03";
inline constexpr const char* numeric_value_out_of_range = "22003";
inline constexpr const char* query_canceled = "57014";
inline constexpr const char* admin_shutdown = "57P01";
inline constexpr const char* idle_in_transaction_timeout = "25P03";
inline constexpr const char* connection_failure = "08006";
inline constexpr const char* internal_error = "XX000";
}  // namespace sqlstate

// Checks a length word before anything is allocated for the body. Returns
// the body size (length minus the length word itself), or nullopt when the
// length is below the minimum or above `bytes_max`.
std::optional<uint32_t> startup_body_bytes(uint32_t length, uint32_t bytes_max);
std::optional<uint32_t> message_body_bytes(uint32_t length, uint32_t bytes_max);

// A bounds-checked reader over one message body. Reading past the end
// returns zeros/empty and clears ok(); callers check ok() once at the end.
class reader {
 public:
  explicit reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t u8();
  int16_t i16();
  int32_t i32();
  // A NUL-terminated string (without the NUL).
  std::string_view cstr();
  std::span<const uint8_t> bytes(size_t n);
  size_t remaining() const { return bytes_.size() - pos_; }
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends big-endian integers and messages to an output buffer.
void put_i16(std::string& out, int16_t v);
void put_i32(std::string& out, int32_t v);
void put_cstr(std::string& out, std::string_view s);  // the bytes, then a NUL
// Starts a message of `type`; returns the position end_message() patches.
size_t begin_message(std::string& out, char type);
void end_message(std::string& out, size_t start);

// An ErrorResponse ('E'). Fields with empty text are left out.
struct error_fields {
  std::string severity = "ERROR";  // ERROR or FATAL
  std::string sqlstate = "XX000";
  std::string message;
  std::string detail;
  std::string hint;
  uint32_t position = 0;  // 'P': 1-based character of the query; 0 leaves the field out
};
void put_error(std::string& out, const error_fields& e);

// What the first packet of a connection asks for.
struct startup_request {
  enum class kind { startup, ssl, gssenc, cancel, bad_version, malformed };
  kind what = kind::malformed;
  uint32_t version = 0;                                    // startup, bad_version
  std::vector<std::pair<std::string, std::string>> parameters;  // startup
  int32_t process_id = 0;                                  // cancel
  int32_t secret_key = 0;                                  // cancel
  std::string problem;                                     // malformed: what is wrong
};
// Decodes a startup packet body (after the length word).
startup_request decode_startup(std::span<const uint8_t> body);

}  // namespace strata::pgwire
