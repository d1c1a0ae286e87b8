#include "kafka/server/handlers/client_quota_wire.h"

#include <fmt/format.h>

namespace strata::kafka::handlers {

std::optional<std::string> decode_entity(reader& r, bool flex, quota_entity& out) {
  std::optional<std::string> problem;
  const int32_t parts = r.array_length(flex);
  for (int32_t i = 0; i < parts && r.ok(); ++i) {
    const std::string type = r.string(flex);
    const std::optional<std::string> name = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    entity_part* part = type == entity_user ? &out.user : type == entity_client_id ? &out.client_id : nullptr;
    if (part == nullptr) {
      problem = fmt::format("entity type {} is not supported; use user or client-id", type);
    } else if (part->what != entity_part::kind::absent) {
      problem = fmt::format("entity type {} is given twice", type);
    } else {
      *part = name ? entity_part{entity_part::kind::named, *name} : entity_part{entity_part::kind::default_entity, ""};
    }
  }
  return problem;
}

void encode_entity(writer& w, bool flex, const quota_entity& e) {
  const int32_t parts = (e.user.what != entity_part::kind::absent) + (e.client_id.what != entity_part::kind::absent);
  w.array_length(parts, flex);
  auto part = [&](std::string_view type, const entity_part& p) {
    if (p.what == entity_part::kind::absent) return;
    w.string(type, flex);
    w.nullable_string(p.what == entity_part::kind::named ? std::optional<std::string>(p.name) : std::nullopt, flex);
    if (flex) w.empty_tagged_fields();
  };
  part(entity_user, e.user);
  part(entity_client_id, e.client_id);
}

}  // namespace strata::kafka::handlers
