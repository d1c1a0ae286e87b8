#include "app/cluster_tls.h"

#include <fmt/format.h>

#include "net/tls.h"

namespace strata::app {

namespace {

// The flags as a sentence's list: "--a", "--a and --b", "--a, --b and --c".
std::string flag_list(const std::vector<std::string>& flags) {
  std::string out;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (i > 0) out += i + 1 == flags.size() ? " and " : ", ";
    out += flags[i];
  }
  return out;
}

status check_flags(const server_options& o) {
  const std::vector<std::pair<std::string, std::string>> files{
      {"--cluster-tls-ca", o.cluster_tls_ca}, {"--cluster-tls-cert", o.cluster_tls_cert}, {"--cluster-tls-key", o.cluster_tls_key}};
  std::vector<std::string> given, missing;
  for (const auto& [flag, path] : files) (path.empty() ? missing : given).push_back(flag);
  const bool cluster_mode = !o.cluster_etcd.empty();
  if (!o.replication_listen.empty() && !cluster_mode) {
    return make_error(errc::invalid_argument, "--replication-listen needs cluster mode: pass --cluster-etcd URL and --node-id N");
  }
  if (given.empty()) return {};
  if (!missing.empty()) {
    return make_error(errc::invalid_argument,
                      fmt::format("--cluster-tls-ca, --cluster-tls-cert and --cluster-tls-key go together: {} given, {} "
                                  "missing",
                                  flag_list(given), flag_list(missing)));
  }
  if (!cluster_mode) {
    return make_error(errc::invalid_argument, "--cluster-tls-* need cluster mode: pass --cluster-etcd URL and --node-id N");
  }
  if (o.replication_listen.empty()) {
    return make_error(errc::invalid_argument,
                      "--cluster-tls-* need --replication-listen HOST:PORT: node-to-node TLS runs on that listener, and "
                      "the Kafka listener stays as it is for clients");
  }
  return {};
}

}  // namespace

result<cluster_tls> load_cluster_tls(const server_options& o) {
  STRATA_TRY(check_flags(o));
  if (o.cluster_tls_ca.empty()) return cluster_tls{};
  const net::pem_file ca{"--cluster-tls-ca", o.cluster_tls_ca};
  const net::pem_file cert{"--cluster-tls-cert", o.cluster_tls_cert};
  const net::pem_file key{"--cluster-tls-key", o.cluster_tls_key};
  auto listener = net::make_server_tls({cert, key, ca});
  STRATA_TRY(listener);
  auto fetcher = net::make_client_tls({ca, cert, key});
  STRATA_TRY(fetcher);
  return cluster_tls{std::move(*listener), std::move(*fetcher)};
}

}  // namespace strata::app
