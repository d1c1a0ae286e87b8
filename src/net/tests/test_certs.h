// Test support: a cluster CA and certificates that scripts/make-cluster-certs.sh
// (the openssl command line) makes in a temporary directory, for tests of
// TLS listeners and clients. The test binary needs STRATA_SCRIPTS_DIR defined.
//   cluster/ca.crt, cluster/node1.{crt,key} (naming 127.0.0.1 and localhost),
//   cluster/node2.{crt,key} (127.0.0.1);
//   rogue/ca.crt (another CA of the same name), rogue/rogue.{crt,key}.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace strata::net::testing {

// Makes the files in a new directory and returns it; the caller removes it.
inline std::filesystem::path make_test_certs() {
  char pattern[] = "/tmp/strata-tls-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    ADD_FAILURE() << "cannot make a temporary directory";
    return {};
  }
  const std::string dir = pattern;
  const std::string make = std::string("bash ") + STRATA_SCRIPTS_DIR + "/make-cluster-certs.sh ";
  const std::string command = "(cd " + dir + " && " + make + "cluster node1=IP:127.0.0.1,DNS:localhost node2=IP:127.0.0.1 && " +
                              make + "rogue rogue=IP:127.0.0.1) > " + dir + "/make-certs.log 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << "openssl failed; see " << dir << "/make-certs.log";
  return dir;
}

}  // namespace strata::net::testing
