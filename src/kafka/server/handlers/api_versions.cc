#include "kafka/server/handlers/api_versions.h"

#include "kafka/server/handlers/handlers.h"

namespace strata::kafka::handlers {

std::vector<uint8_t> encode_api_versions(int16_t version, error_code error) {
  const bool flexible = version >= 3;
  std::vector<uint8_t> out;
  writer w(out);
  w.i16(static_cast<int16_t>(error));
  auto apis = supported_apis();
  w.array_length(static_cast<int32_t>(apis.size()), flexible);
  for (const api_info& a : apis) {
    w.i16(static_cast<int16_t>(a.key));
    w.i16(a.min_version);
    w.i16(a.max_version);
    if (flexible) w.empty_tagged_fields();
  }
  if (version >= 1) w.i32(0);  // throttle_time_ms
  if (flexible) w.empty_tagged_fields();
  return out;
}

status api_versions(services&, const request& req, respond_fn respond) {
  reader r(req.body);
  if (req.header.flexible) {
    (void)r.string(true);  // client_software_name
    (void)r.string(true);  // client_software_version
    r.skip_tagged_fields();
    if (!r.ok()) return make_error(errc::invalid_argument, "malformed ApiVersions v3 request");
  }
  respond(encode_api_versions(req.header.api_version, error_code::none));
  return {};
}

}  // namespace strata::kafka::handlers
