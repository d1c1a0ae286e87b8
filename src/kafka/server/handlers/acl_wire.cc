#include "kafka/server/handlers/acl_wire.h"

namespace strata::kafka::handlers {

namespace {

template <class E>
E from_wire(int8_t v, E last) {
  if (v < 0 || v > static_cast<int8_t>(last)) return E::unknown;
  return static_cast<E>(v);
}

}  // namespace

auth::resource_type resource_type_from_wire(int8_t v) { return from_wire(v, auth::resource_type::user); }
auth::pattern_type pattern_type_from_wire(int8_t v) { return from_wire(v, auth::pattern_type::prefixed); }
auth::operation operation_from_wire(int8_t v) { return from_wire(v, auth::operation::describe_tokens); }
auth::permission permission_from_wire(int8_t v) { return from_wire(v, auth::permission::allow); }

auth::acl_filter decode_acl_filter(reader& r, int16_t version, bool flex) {
  auth::acl_filter f;
  f.type = resource_type_from_wire(r.i8());
  f.name = r.nullable_string(flex);
  f.pattern = version >= 1 ? pattern_type_from_wire(r.i8()) : auth::pattern_type::literal;
  f.principal = r.nullable_string(flex);
  f.host = r.nullable_string(flex);
  f.op = operation_from_wire(r.i8());
  f.perm = permission_from_wire(r.i8());
  return f;
}

std::string acls_disabled_message() {
  return "ACLs are disabled on this broker: start strata with a Kafka listener that authenticates clients "
         "(SASL or TLS client certificates) to manage ACLs";
}

std::string scram_users_disabled_message() {
  return "SCRAM users are disabled on this broker: start strata with a SASL Kafka listener to manage them";
}

std::string cluster_denied_message(const request& req, auth::operation op) {
  const char* name = auth::operation_name(op);
  return std::string(req.principal) + " may not " + name + " the cluster: a super user must grant it an ALLOW ACL for " +
         name + " on CLUSTER " + std::string(auth::cluster_resource_name);
}

void encode_acl_access(writer& w, const auth::acl_binding& b, bool flex) {
  w.string(b.principal, flex);
  w.string(b.host, flex);
  w.i8(static_cast<int8_t>(b.op));
  w.i8(static_cast<int8_t>(b.perm));
}

}  // namespace strata::kafka::handlers
