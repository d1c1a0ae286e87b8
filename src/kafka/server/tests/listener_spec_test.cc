#include "kafka/server/listener_spec.h"

#include <gtest/gtest.h>

namespace strata::kafka {
namespace {

TEST(ListenerSpec, ParsesEachProtocolAndBareAddresses) {
  auto bare = parse_listener("127.0.0.1:9092", "--kafka-listen");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->protocol, security_protocol::plaintext);
  EXPECT_EQ(bare->host_port, "127.0.0.1:9092");
  EXPECT_EQ(bare->host, "127.0.0.1");
  for (auto [text, protocol] : {std::pair{"PLAINTEXT://h:1", security_protocol::plaintext},
                                std::pair{"SSL://h:1", security_protocol::ssl},
                                std::pair{"SASL_PLAINTEXT://h:1", security_protocol::sasl_plaintext},
                                std::pair{"SASL_SSL://[::1]:1", security_protocol::sasl_ssl}}) {
    auto spec = parse_listener(text, "--kafka-listen");
    ASSERT_TRUE(spec.ok()) << text;
    EXPECT_EQ(spec->protocol, protocol);
    EXPECT_STREQ(protocol_name(spec->protocol), std::string(text).substr(0, std::string(text).find(':')).c_str());
  }
}

TEST(ListenerSpec, RefusesUnknownProtocolsAndBadAddresses) {
  auto unknown = parse_listener("SASL_SCRAM://h:1", "--kafka-listen");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.err().message.find("unknown security protocol 'SASL_SCRAM'"), std::string::npos);
  EXPECT_FALSE(parse_listener("SSL://no-port", "--kafka-listen").ok());
  EXPECT_FALSE(parse_listener("ssl://h:1", "--kafka-listen").ok());  // Kafka's names are upper case
}

TEST(ListenerSpec, EachProtocolNamesOneListener) {
  EXPECT_FALSE(parse_listeners({}, "--kafka-listen").ok());
  EXPECT_TRUE(parse_listeners({"h:1", "SSL://h:2", "SASL_SSL://h:3"}, "--kafka-listen").ok());
  auto twice = parse_listeners({"h:1", "PLAINTEXT://h:2"}, "--kafka-listen");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.err().message.find("PLAINTEXT is used by two listeners"), std::string::npos);
}

}  // namespace
}  // namespace strata::kafka
