#include "metrics/text_format.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace strata::metrics {
namespace {

TEST(TextFormat, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(TextFormat, EscapesHelpButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\\nnext"), "say \"hi\"\\\\\\nnext");
}

TEST(TextFormat, FormatsValues) {
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(TextFormat, ValidatesMetricNames) {
  EXPECT_TRUE(valid_metric_name("strata_kafka_requests_total"));
  EXPECT_TRUE(valid_metric_name("ns:rule_1"));
  EXPECT_TRUE(valid_metric_name("_x"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name("a b"));
}

TEST(TextFormat, ValidatesLabelNames) {
  EXPECT_TRUE(valid_label_name("topic"));
  EXPECT_TRUE(valid_label_name("_p1"));
  EXPECT_FALSE(valid_label_name(""));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("9a"));
}

TEST(TextFormat, LabelKeyIsSortedAndEscaped) {
  EXPECT_EQ(label_key({}), "");
  EXPECT_EQ(label_key({{"b", "2"}, {"a", "x\"y"}}), "a=\"x\\\"y\",b=\"2\"");
  EXPECT_EQ(label_key({{"a", "1"}, {"b", "2"}}), label_key({{"b", "2"}, {"a", "1"}}));
}

TEST(TextFormat, RejectsRepeatedOrReservedLabels) {
  EXPECT_TRUE(valid_labels({{"a", "1"}, {"b", "1"}}));
  EXPECT_FALSE(valid_labels({{"a", "1"}, {"a", "2"}}));
  EXPECT_FALSE(valid_labels({{"le", "1"}}, "le"));
  EXPECT_FALSE(valid_labels({{"bad-name", "1"}}));
}

TEST(TextFormat, SampleLines) {
  EXPECT_EQ(sample_line("m", "", "", "1"), "m 1\n");
  EXPECT_EQ(sample_line("m", "a=\"1\"", "", "2"), "m{a=\"1\"} 2\n");
  EXPECT_EQ(sample_line("m", "", "le=\"1\"", "3"), "m{le=\"1\"} 3\n");
  EXPECT_EQ(sample_line("m", "a=\"1\"", "le=\"1\"", "4"), "m{a=\"1\",le=\"1\"} 4\n");
}

}  // namespace
}  // namespace strata::metrics
