// The coordinator over etcd 3.4's gRPC API: KV (Range, Txn) and Lease
// (LeaseGrant, LeaseKeepAlive, LeaseRevoke). One channel per endpoint; a call
// that finds an endpoint unreachable or slow moves on to the next one, and the
// last endpoint that answered is tried first next time.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "cluster/coordinator.h"
#include "cluster/memory_coordinator.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace strata::cluster {
namespace {

namespace pb = etcdserverpb;

struct endpoint_address {
  std::string target;  // host:port, for gRPC
  bool https = false;
};

struct endpoint {
  std::string name;  // as configured, for messages
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
};

constexpr std::string_view k_https = "https://";
constexpr std::string_view k_http = "http://";

result<endpoint_address> parse_endpoint(std::string_view configured) {
  std::string_view text = configured;
  endpoint_address out;
  if (text.starts_with(k_https)) {
    out.https = true;
    text.remove_prefix(k_https.size());
  } else if (text.starts_with(k_http)) {
    text.remove_prefix(k_http.size());
  }
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  if (text.empty() || text.find('/') != std::string_view::npos || text.find(':') == std::string_view::npos) {
    return make_error(errc::invalid_argument, fmt::format("etcd endpoint '{}' is not host:port, http://host:port or "
                                                          "https://host:port; check --cluster-etcd",
                                                          configured));
  }
  out.target = std::string(text);
  return out;
}

result<std::string> read_pem(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return make_error(errc::invalid_argument, fmt::format("cannot read the etcd {} file {}", what, path));
  }
  return text.str();
}

// TLS when a CA is configured or an endpoint says https (the system's roots
// then); plaintext otherwise.
result<std::shared_ptr<grpc::ChannelCredentials>> make_credentials(const etcd_tls& tls, bool https) {
  if (tls.ca_file.empty() && !https) return grpc::InsecureChannelCredentials();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return make_error(errc::invalid_argument, "an etcd client certificate needs both its cert file and its key file");
  }
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    auto ca = read_pem(tls.ca_file, "CA");
    STRATA_TRY(ca);
    options.pem_root_certs = std::move(ca).value();
  }
  if (!tls.cert_file.empty()) {
    auto cert = read_pem(tls.cert_file, "client certificate");
    STRATA_TRY(cert);
    auto key = read_pem(tls.key_file, "client key");
    STRATA_TRY(key);
    options.pem_cert_chain = std::move(cert).value();
    options.pem_private_key = std::move(key).value();
  }
  return grpc::SslCredentials(options);
}

grpc::ChannelArguments channel_arguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);  // a restarted etcd is found again within a second
  args.SetMaxReceiveMessageSize(-1);                      // a range of many keys can pass gRPC's 4 MiB default
  return args;
}

result<endpoint> open_endpoint(const std::string& name, const etcd_tls& tls) {
  auto address = parse_endpoint(name);
  STRATA_TRY(address);
  auto credentials = make_credentials(tls, address->https);
  STRATA_TRY(credentials);
  endpoint out;
  out.name = name;
  out.channel = grpc::CreateCustomChannel(address->target, credentials.value(), channel_arguments());
  out.kv = pb::KV::NewStub(out.channel);
  out.lease = pb::Lease::NewStub(out.channel);
  return out;
}

// The end of etcd's range for a prefix: the prefix with its last byte below
// 0xff incremented and what follows dropped; "\0" (to the end) when none is.
std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

kv_entry to_entry(const mvccpb::KeyValue& kv) {
  return kv_entry{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.lease()};
}

// Another endpoint may do better than one that is down, has no leader or is slow.
bool worth_another_endpoint(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

bool mentions(const grpc::Status& status, std::string_view text) {
  return status.error_message().find(text) != std::string::npos;
}

errc refusal_code(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return errc::not_found;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return mentions(status, "too many operations") ? errc::limit_exceeded : errc::invalid_argument;
    case grpc::StatusCode::OUT_OF_RANGE:
      return errc::invalid_argument;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return mentions(status, "space exceeded") ? errc::no_space : errc::limit_exceeded;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return errc::unsupported;  // etcd's own users and roles are not spoken here
    case grpc::StatusCode::CANCELLED:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

// An answer that was not a success, from an endpoint that did answer.
error refusal(const grpc::Status& status, std::string_view what, const std::string& endpoint_name) {
  return make_error(refusal_code(status),
                    fmt::format("etcd at {} refused the {}: {}", endpoint_name, what, status.error_message()));
}

std::chrono::system_clock::time_point deadline_after_ms(int64_t timeout_ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
}

class etcd_coordinator final : public coordinator {
 public:
  etcd_coordinator(std::vector<endpoint> endpoints, int64_t request_timeout_ms)
      : endpoints_(std::move(endpoints)), request_timeout_ms_(request_timeout_ms) {}

  result<lease_id> grant_lease(int64_t ttl_ms) override;
  status keep_alive(lease_id lease) override;
  status revoke_lease(lease_id lease) override;

  result<range_result> range(const std::string& prefix) override;
  result<std::optional<kv_entry>> get(const std::string& key) override;
  result<txn_outcome> commit(const std::vector<txn_condition>& conditions, const std::vector<txn_op>& ops) override;

 private:
  template <class Call>
  status with_failover(std::string_view what, Call&& call);
  error unreachable(std::string_view what, const std::vector<std::string>& failures, bool all_timed_out) const;
  result<pb::RangeResponse> read(pb::RangeRequest request);
  void warn_if_ttl_raised(int64_t asked_seconds, int64_t granted_seconds);

  std::vector<endpoint> endpoints_;
  int64_t request_timeout_ms_;
  std::atomic<size_t> preferred_{0};  // the endpoint that answered last
  std::atomic<bool> warned_ttl_raised_{false};
};

// Runs `call(endpoint, context)`, a gRPC call under a fresh context with the
// request deadline, on each endpoint in turn until one answers.
template <class Call>
status etcd_coordinator::with_failover(std::string_view what, Call&& call) {
  size_t first = preferred_.load();
  std::vector<std::string> failures;
  bool all_timed_out = true;
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    size_t index = (first + attempt) % endpoints_.size();
    endpoint& target = endpoints_[index];
    grpc::ClientContext context;
    context.set_deadline(deadline_after_ms(request_timeout_ms_));
    grpc::Status status = call(target, context);
    if (!worth_another_endpoint(status.error_code())) {
      preferred_.store(index);
      if (status.ok()) return {};
      return refusal(status, what, target.name);
    }
    all_timed_out = all_timed_out && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    failures.push_back(fmt::format("{} ({})", target.name, status.error_message()));
    if (attempt + 1 < endpoints_.size()) {
      spdlog::warn("etcd at {} did not answer the {} ({}); trying the next endpoint", target.name, what,
                   status.error_message());
    }
  }
  return unreachable(what, failures, all_timed_out);
}

error etcd_coordinator::unreachable(std::string_view what, const std::vector<std::string>& failures,
                                    bool all_timed_out) const {
  std::vector<std::string> names;
  for (const endpoint& e : endpoints_) names.push_back(e.name);
  if (all_timed_out) {
    return make_error(errc::timed_out,
                      fmt::format("etcd did not answer the {} within {} ms at {}; is etcd running and healthy at {}? "
                                  "check --cluster-etcd",
                                  what, request_timeout_ms_, fmt::join(failures, ", "), fmt::join(names, ", ")));
  }
  return make_error(errc::unavailable, fmt::format("etcd is unreachable for the {} at {}; is etcd running at {}? "
                                                   "check --cluster-etcd",
                                                   what, fmt::join(failures, ", "), fmt::join(names, ", ")));
}

void etcd_coordinator::warn_if_ttl_raised(int64_t asked_seconds, int64_t granted_seconds) {
  if (granted_seconds <= asked_seconds || warned_ttl_raised_.exchange(true)) return;
  spdlog::warn("etcd granted a {} s lease for a {} s request: its minimum TTL, set by its election timeout",
               granted_seconds, asked_seconds);
}

result<lease_id> etcd_coordinator::grant_lease(int64_t ttl_ms) {
  STRATA_TRY(check_lease_ttl(ttl_ms));
  int64_t ttl_seconds = lease_ttl_seconds(ttl_ms);
  pb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  pb::LeaseGrantResponse response;
  STRATA_TRY(with_failover("lease grant", [&](endpoint& e, grpc::ClientContext& context) {
    return e.lease->LeaseGrant(&context, request, &response);
  }));
  if (!response.error().empty()) {
    return make_error(errc::internal, fmt::format("etcd refused the lease grant: {}", response.error()));
  }
  warn_if_ttl_raised(ttl_seconds, response.ttl());
  return response.id();
}

// One short LeaseKeepAlive stream per call: one request, one answer.
status etcd_coordinator::keep_alive(lease_id lease) {
  pb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  pb::LeaseKeepAliveResponse response;
  bool answered = false;
  STRATA_TRY(with_failover("lease keep-alive", [&](endpoint& e, grpc::ClientContext& context) {
    auto stream = e.lease->LeaseKeepAlive(&context);
    answered = stream->Write(request) && stream->Read(&response);
    stream->WritesDone();
    return stream->Finish();
  }));
  if (!answered) return make_error(errc::internal, "etcd closed the lease keep-alive stream without an answer");
  if (response.ttl() <= 0) {
    return make_error(errc::not_found, fmt::format("lease {} has expired or was revoked", lease));
  }
  return {};
}

status etcd_coordinator::revoke_lease(lease_id lease) {
  pb::LeaseRevokeRequest request;
  request.set_id(lease);
  pb::LeaseRevokeResponse response;
  return with_failover("lease revoke", [&](endpoint& e, grpc::ClientContext& context) {
    return e.lease->LeaseRevoke(&context, request, &response);
  });
}

result<pb::RangeResponse> etcd_coordinator::read(pb::RangeRequest request) {
  pb::RangeResponse response;
  STRATA_TRY(with_failover("range read", [&](endpoint& e, grpc::ClientContext& context) {
    return e.kv->Range(&context, request, &response);
  }));
  return response;
}

result<range_result> etcd_coordinator::range(const std::string& prefix) {
  pb::RangeRequest request;
  request.set_key(prefix.empty() ? std::string(1, '\0') : prefix);  // "\0" to "\0": every key
  request.set_range_end(prefix_range_end(prefix));
  auto response = read(std::move(request));
  STRATA_TRY(response);
  range_result out;
  out.revision = response->header().revision();
  out.entries.reserve(static_cast<size_t>(response->kvs_size()));
  for (const mvccpb::KeyValue& kv : response->kvs()) out.entries.push_back(to_entry(kv));
  return out;
}

result<std::optional<kv_entry>> etcd_coordinator::get(const std::string& key) {
  pb::RangeRequest request;
  request.set_key(key);
  auto response = read(std::move(request));
  STRATA_TRY(response);
  if (response->kvs_size() == 0) return std::optional<kv_entry>();
  return std::optional<kv_entry>(to_entry(response->kvs(0)));
}

void add_condition(pb::TxnRequest& request, const txn_condition& condition) {
  pb::Compare* compare = request.add_compare();
  compare->set_key(condition.key);
  compare->set_result(pb::Compare::EQUAL);
  if (condition.mod_revision == 0) {
    compare->set_target(pb::Compare::CREATE);  // created at revision 0: absent
    compare->set_create_revision(0);
  } else {
    compare->set_target(pb::Compare::MOD);
    compare->set_mod_revision(condition.mod_revision);
  }
}

void add_op(pb::TxnRequest& request, const txn_op& op) {
  pb::RequestOp* request_op = request.add_success();
  if (op.op == txn_op::kind::remove) {
    request_op->mutable_request_delete_range()->set_key(op.key);
    return;
  }
  pb::PutRequest* put = request_op->mutable_request_put();
  put->set_key(op.key);
  put->set_value(op.value);
  put->set_lease(op.lease);
}

result<txn_outcome> etcd_coordinator::commit(const std::vector<txn_condition>& conditions,
                                             const std::vector<txn_op>& ops) {
  pb::TxnRequest request;
  for (const txn_condition& condition : conditions) add_condition(request, condition);
  for (const txn_op& op : ops) add_op(request, op);
  pb::TxnResponse response;
  STRATA_TRY(with_failover("transaction", [&](endpoint& e, grpc::ClientContext& context) {
    return e.kv->Txn(&context, request, &response);
  }));
  return txn_outcome{response.succeeded(), response.header().revision()};
}

status check_config(const etcd_config& config) {
  if (config.endpoints.empty()) return make_error(errc::invalid_argument, "no etcd endpoint; set --cluster-etcd");
  if (config.request_timeout_ms <= 0) {
    return make_error(errc::invalid_argument,
                      fmt::format("etcd request timeout {} ms is not positive", config.request_timeout_ms));
  }
  return {};
}

}  // namespace

result<std::unique_ptr<coordinator>> connect_etcd(const etcd_config& config) {
  STRATA_TRY(check_config(config));
  std::vector<endpoint> endpoints;
  for (const std::string& name : config.endpoints) {
    auto opened = open_endpoint(name, config.tls);
    STRATA_TRY(opened);
    endpoints.push_back(std::move(opened).value());
  }
  auto store = std::make_unique<etcd_coordinator>(std::move(endpoints), config.request_timeout_ms);
  STRATA_TRY(store->get("strata/connect-probe"));  // a cheap read proves some endpoint answers
  return std::unique_ptr<coordinator>(std::move(store));
}

}  // namespace strata::cluster
