#include "admin/volume_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin/tests/fake_volumes.h"
#include "admin/tests/test_support.h"
#include "cli/http_client.h"

namespace strata::admin {
namespace {

using nlohmann::json;
using testing::fake_volumes;

constexpr uint64_t gib = 1ULL << 30;

// The routes on a router, called without sockets.
class VolumeRoutes : public ::testing::Test {
 protected:
  VolumeRoutes() { add_volume_routes(routes, &svc); }

  response call(std::string method, std::string target, std::string body = {}) {
    return routes.dispatch({std::move(method), std::move(target), "application/json", std::move(body)}).reply;
  }
  json call_json(std::string method, std::string target, std::string body, int expected_status) {
    response r = call(method, target, body);
    EXPECT_EQ(r.status, expected_status) << method << " " << target << " " << body << " -> " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static std::string location(const response& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "Location") return value;
    }
    return "(none)";
  }
  static std::string error_code(const response& r) {
    json body = json::parse(r.body, nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].value("code", "-")
                                                      : "(not an error: " + r.body + ")";
  }
  static std::string error_message(const response& r) {
    json body = json::parse(r.body, nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].value("message", "-")
                                                      : "(not an error: " + r.body + ")";
  }
  void create(const std::string& name, uint64_t size_bytes) {
    ASSERT_EQ(call("POST", "/v1/volumes", json({{"name", name}, {"size_bytes", size_bytes}}).dump()).status, 201);
  }

  fake_volumes svc;
  router routes;
};

TEST_F(VolumeRoutes, CreateTakesAHumanSizeOrBytes) {
  response r = call("POST", "/v1/volumes", R"({"name": "vm1", "size": "10G"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(location(r), "/v1/volumes/vm1");
  EXPECT_EQ(json::parse(r.body), json({{"name", "vm1"},
                                       {"size_bytes", 10 * gib},
                                       {"allocated_bytes", 0},
                                       {"origin", ""},
                                       {"created_ms", 1'700'000'001'000},
                                       {"snapshots", json::array()},
                                       {"open_exports", 0}}));
  json vm2 = call_json("POST", "/v1/volumes", R"({"name": "vm2", "size_bytes": 1048576})", 201);
  EXPECT_EQ(vm2["size_bytes"], 1048576);
  json vm3 = call_json("POST", "/v1/volumes", R"({"name": "vm3", "size": "512 MiB"})", 201);
  EXPECT_EQ(vm3["size_bytes"], 512 << 20);
  json vm4 = call_json("POST", "/v1/volumes", R"({"name": "vm4", "size": 8192})", 201);
  EXPECT_EQ(vm4["size_bytes"], 8192);
  EXPECT_EQ(svc.catalog().size(), 4u);
  EXPECT_EQ(svc.catalog()["vm1"].size_bytes, 10 * gib);
}

TEST_F(VolumeRoutes, ListCarriesVolumesAndUsage) {
  EXPECT_EQ(call_json("GET", "/v1/volumes", "", 200)["volumes"], json::array());
  create("b", gib);
  create("a", 2 * gib);
  svc.catalog()["a"].allocated_bytes = 12288;
  svc.open.insert("b");
  svc.usage_value = {.allocated_bytes = 1,
                     .layers = 2,
                     .hidden_layers = 3,
                     .client_write_bytes = 4,
                     .disk_write_bytes = 5,
                     .map_write_bytes = 6,
                     .flushes = 7};
  json list = call_json("GET", "/v1/volumes", "", 200);
  ASSERT_EQ(list["volumes"].size(), 2u);
  EXPECT_EQ(list["volumes"][0]["name"], "a");
  EXPECT_EQ(list["volumes"][0]["allocated_bytes"], 12288);
  EXPECT_EQ(list["volumes"][0]["open_exports"], 0);
  EXPECT_EQ(list["volumes"][1]["name"], "b");
  EXPECT_EQ(list["volumes"][1]["open_exports"], 1);
  EXPECT_EQ(list["usage"], json({{"allocated_bytes", 1},
                                 {"layers", 2},
                                 {"hidden_layers", 3},
                                 {"client_write_bytes", 4},
                                 {"disk_write_bytes", 5},
                                 {"map_write_bytes", 6},
                                 {"flushes", 7}}));
}

TEST_F(VolumeRoutes, DescribeResizeDelete) {
  create("vm1", gib);
  EXPECT_EQ(call_json("GET", "/v1/volumes/vm1", "", 200)["size_bytes"], gib);

  EXPECT_EQ(call_json("POST", "/v1/volumes/vm1/resize", R"({"size": "2G"})", 200)["size_bytes"], 2 * gib);
  EXPECT_EQ(call_json("POST", "/v1/volumes/vm1/resize", R"({"size_bytes": 3221225472})", 200)["size_bytes"], 3 * gib);
  EXPECT_EQ(svc.catalog()["vm1"].size_bytes, 3 * gib);

  response shrink = call("POST", "/v1/volumes/vm1/resize", R"({"size": "1G"})");
  EXPECT_EQ(shrink.status, 400);
  EXPECT_EQ(error_message(shrink), "volume vm1 cannot shrink; give a size of at least 3221225472 bytes");

  response del = call("DELETE", "/v1/volumes/vm1");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");
  EXPECT_EQ(del.content_type, "");
  EXPECT_TRUE(svc.catalog().empty());
}

TEST_F(VolumeRoutes, MissingIs404AndExistingIs409) {
  for (auto [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/v1/volumes/nope", ""},
           {"DELETE", "/v1/volumes/nope", ""},
           {"POST", "/v1/volumes/nope/resize", R"({"size": "1G"})"}}) {
    response r = call(method, target, body);
    EXPECT_EQ(r.status, 404) << method << " " << target;
    EXPECT_EQ(error_code(r), "not_found");
    EXPECT_EQ(error_message(r), "unknown volume nope");
  }
  create("vm1", gib);
  response again = call("POST", "/v1/volumes", R"({"name": "vm1", "size": "1G"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(error_code(again), "already_exists");
}

TEST_F(VolumeRoutes, BadCreateBodiesAre400WithAMessage) {
  struct bad_case {
    std::string body;
    std::string message_part;
  };
  const std::vector<bad_case> cases = {
      {"{nope", "not a JSON object; expected {\"name\": \"vm1\", \"size\": \"10G\"}"},
      {"[]", "not a JSON object"},
      {"", "not a JSON object"},
      {R"({"size": "1G"})", "name is required"},
      {R"({"name": "vm1"})", "size is required"},
      {R"({"name": 1, "size": "1G"})", "name must be a string"},
      {R"({"name": "vm1", "size": "10X"})",
       "size 10X is not a size; use e.g. 10G or 512M (K, M, G, T mean KiB, MiB, GiB, TiB)"},
      {R"({"name": "vm1", "size": "99999999999T"})", "size 99999999999T is too large"},
      {R"({"name": "vm1", "size": true})", "size must be a string such as \"10G\""},
      {R"({"name": "vm1", "size_bytes": "1G"})", "size_bytes must be a whole number of bytes"},
      {R"({"name": "vm1", "size_bytes": -4096})", "size_bytes must be a whole number of bytes"},
      {R"({"name": "vm1", "size_bytes": 4096.5})", "size_bytes must be a whole number of bytes"},
      {R"({"name": "vm1", "size": "1G", "size_bytes": 4096})", "give either size or size_bytes, not both"},
      {R"({"name": "vm1", "size": "1000"})", "size 1000 is not a positive multiple of 4096"},
      {R"({"name": "vm1", "size": "0"})", "is not a positive multiple of 4096"},
      {R"({"name": "bad name", "size": "1G"})", "name bad name is invalid"},
      {R"({"name": "vm1", "size": "1G", "colour": "red"})", "unknown field colour"},
      {json({{"name", std::string(129, 'a')}, {"size", "1G"}}).dump(), "name is longer than 128 characters"},
  };
  for (const auto& c : cases) {
    response r = call("POST", "/v1/volumes", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(error_code(r), "invalid_argument") << c.body;
    EXPECT_NE(error_message(r).find(c.message_part), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_TRUE(svc.catalog().empty());
  // At the bound the name reaches the service.
  EXPECT_EQ(call("POST", "/v1/volumes", json({{"name", std::string(128, 'a')}, {"size", "1G"}}).dump()).status, 201);
}

TEST_F(VolumeRoutes, BadResizeBodiesAre400) {
  create("vm1", gib);
  for (std::string body : {R"({})", R"({"name": "vm1", "size": "2G"})", R"({"size": "2Q"})", "2G"}) {
    response r = call("POST", "/v1/volumes/vm1/resize", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_NE(
      error_message(call("POST", "/v1/volumes/vm1/resize", "{}")).find(R"(size is required; expected {"size": "20G"})"),
      std::string::npos);
  EXPECT_EQ(svc.catalog()["vm1"].size_bytes, gib);
}

TEST_F(VolumeRoutes, SnapshotsCreateListDescribeDelete) {
  create("vm1", gib);
  create("vm2", 2 * gib);
  svc.catalog()["vm1"].allocated_bytes = 8192;
  response r = call("POST", "/v1/snapshots", R"({"volume": "vm1", "name": "s1"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(location(r), "/v1/snapshots/vm1@s1");
  EXPECT_EQ(json::parse(r.body), json({{"volume", "vm1"},
                                       {"name", "s1"},
                                       {"export", "vm1@s1"},
                                       {"size_bytes", gib},
                                       {"allocated_bytes", 8192},
                                       {"created_ms", 1'700'000'003'000},
                                       {"clones", 0}}));
  call_json("POST", "/v1/snapshots", R"({"volume": "vm2", "name": "s1"})", 201);
  call_json("POST", "/v1/snapshots", R"({"volume": "vm2", "name": "s2"})", 201);

  json all = call_json("GET", "/v1/snapshots", "", 200)["snapshots"];
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["export"], "vm1@s1");
  EXPECT_EQ(all[2]["export"], "vm2@s2");
  json of_vm2 = call_json("GET", "/v1/snapshots?volume=vm2", "", 200)["snapshots"];
  ASSERT_EQ(of_vm2.size(), 2u);
  EXPECT_EQ(of_vm2[0]["name"], "s1");
  EXPECT_EQ(of_vm2[0]["volume"], "vm2");
  EXPECT_EQ(call_json("GET", "/v1/snapshots?volume=vm%31", "", 200)["snapshots"].size(), 1u);  // %31 is "1"
  EXPECT_EQ(call_json("GET", "/v1/volumes/vm2", "", 200)["snapshots"], json({"s1", "s2"}));

  EXPECT_EQ(call_json("GET", "/v1/snapshots/vm2@s2", "", 200)["size_bytes"], 2 * gib);
  EXPECT_EQ(call_json("GET", "/v1/snapshots/vm2%40s2", "", 200)["export"], "vm2@s2");  // '@' percent-encoded
  response missing = call("GET", "/v1/snapshots/vm2@s9");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_message(missing), "volume vm2 has no snapshot s9; list them with GET /v1/snapshots?volume=vm2");

  EXPECT_EQ(call("DELETE", "/v1/snapshots/vm2@s1").status, 204);
  EXPECT_EQ(call_json("GET", "/v1/snapshots?volume=vm2", "", 200)["snapshots"].size(), 1u);
  EXPECT_EQ(call("DELETE", "/v1/snapshots/vm2@s1").status, 404);
}

TEST_F(VolumeRoutes, BadSnapshotRequestsAre400Or404) {
  create("vm1", gib);
  response no_volume = call("POST", "/v1/snapshots", R"({"volume": "nope", "name": "s1"})");
  EXPECT_EQ(no_volume.status, 404);
  EXPECT_EQ(error_message(no_volume), "unknown volume nope");
  EXPECT_EQ(call("GET", "/v1/snapshots?volume=nope").status, 404);

  for (std::string body : {R"({"volume": "vm1"})", R"({"name": "s1"})", R"({"volume": "vm1", "name": 3})",
                           R"({"volume": "vm1", "name": "s1", "x": 1})", "nope", R"({"volume": "vm1", "name": ""})"}) {
    response r = call("POST", "/v1/snapshots", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_NE(error_message(call("POST", "/v1/snapshots", R"({"volume": "vm1"})"))
                .find(R"(name is required; expected {"volume": "vm1", "name": "s1"})"),
            std::string::npos);

  for (std::string target : {"/v1/snapshots?colour=red", "/v1/snapshots?volume", "/v1/snapshots?volume=a&volume=b",
                             "/v1/snapshots?volume=%zz", "/v1/snapshots?volume=%4"}) {
    response r = call("GET", target);
    EXPECT_EQ(r.status, 400) << target << " -> " << r.body;
  }
  EXPECT_EQ(error_message(call("GET", "/v1/snapshots?colour=red")),
            "unknown query parameter colour; accepted: ?volume=");
  EXPECT_EQ(call("GET", "/v1/snapshots?").status, 200);

  for (std::string target : {"/v1/snapshots/vm1", "/v1/snapshots/@s1", "/v1/snapshots/vm1@", "/v1/snapshots/a@b@c"}) {
    response del = call("DELETE", target);
    EXPECT_EQ(del.status, 400) << target << " -> " << del.body;
    EXPECT_NE(error_message(del).find("does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1"), std::string::npos)
        << del.body;
  }
}

TEST_F(VolumeRoutes, DeletingAnOpenExportIs409) {
  create("vm1", gib);
  call_json("POST", "/v1/snapshots", R"({"volume": "vm1", "name": "s1"})", 201);
  svc.open = {"vm1", "vm1@s1"};
  response vol = call("DELETE", "/v1/volumes/vm1");
  EXPECT_EQ(vol.status, 409);
  EXPECT_EQ(error_code(vol), "unavailable");
  EXPECT_EQ(error_message(vol), "volume vm1 is open by an NBD client; disconnect it first");
  response snap = call("DELETE", "/v1/snapshots/vm1@s1");
  EXPECT_EQ(snap.status, 409);
  EXPECT_EQ(error_code(snap), "unavailable");
  EXPECT_EQ(svc.catalog().size(), 1u);
}

TEST_F(VolumeRoutes, ClonesCreateAndList) {
  create("vm1", gib);
  call_json("POST", "/v1/snapshots", R"({"volume": "vm1", "name": "s1"})", 201);
  response r = call("POST", "/v1/clones", R"({"snapshot": "vm1@s1", "name": "vm2"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(location(r), "/v1/volumes/vm2");
  json clone = json::parse(r.body);
  EXPECT_EQ(clone["name"], "vm2");
  EXPECT_EQ(clone["origin"], "vm1@s1");
  EXPECT_EQ(clone["size_bytes"], gib);

  json clones = call_json("GET", "/v1/clones", "", 200);
  ASSERT_EQ(clones["clones"].size(), 1u);
  EXPECT_EQ(clones["clones"][0]["name"], "vm2");
  EXPECT_EQ(call_json("GET", "/v1/volumes", "", 200)["volumes"].size(), 2u);
  EXPECT_EQ(call_json("GET", "/v1/snapshots/vm1@s1", "", 200)["clones"], 1);

  EXPECT_EQ(call("POST", "/v1/clones", R"({"snapshot": "vm1@s9", "name": "vm3"})").status, 404);
  EXPECT_EQ(call("POST", "/v1/clones", R"({"snapshot": "vm1@s1", "name": "vm2"})").status, 409);
  response bad_ref = call("POST", "/v1/clones", R"({"snapshot": "vm1", "name": "vm3"})");
  EXPECT_EQ(bad_ref.status, 400);
  EXPECT_EQ(error_message(bad_ref), "vm1 does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1");
  EXPECT_EQ(call("POST", "/v1/clones", R"({"name": "vm3"})").status, 400);
  EXPECT_EQ(call("POST", "/v1/clones", R"({"snapshot": "vm1@s1", "name": "vm3", "size": "1G"})").status, 400);
}

TEST_F(VolumeRoutes, ServiceErrorsMapToStatuses) {
  create("vm1", gib);
  struct mapping {
    errc code;
    int status;
  };
  for (mapping m :
       {mapping{errc::no_space, 507}, mapping{errc::limit_exceeded, 400}, mapping{errc::io_error, 500},
        mapping{errc::internal, 500}, mapping{errc::unavailable, 503}, mapping{errc::invalid_argument, 400}}) {
    svc.fail_next = make_error(m.code, "injected");
    response r = call("POST", "/v1/snapshots", R"({"volume": "vm1", "name": "s1"})");
    EXPECT_EQ(r.status, m.status) << errc_name(m.code);
    EXPECT_EQ(error_code(r), errc_name(m.code));
    EXPECT_EQ(error_message(r), "injected");
  }
  svc.volumes_max = 1;
  response full = call("POST", "/v1/volumes", R"({"name": "vm2", "size": "1G"})");
  EXPECT_EQ(full.status, 400);
  EXPECT_EQ(error_code(full), "limit_exceeded");
}

TEST_F(VolumeRoutes, OtherMethodsAre405) {
  response r = call("PUT", "/v1/volumes/vm1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_message(r), "PUT is not allowed here; use GET, DELETE");
  EXPECT_EQ(call("GET", "/v1/volumes/vm1/resize").status, 405);
  EXPECT_EQ(call("DELETE", "/v1/clones").status, 405);
}

TEST(VolumeRoutesOff, EveryRouteIs503WithoutTheService) {
  router routes;
  add_volume_routes(routes, nullptr);
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/volumes"},
                                                                                {"POST", "/v1/volumes"},
                                                                                {"GET", "/v1/volumes/vm1"},
                                                                                {"DELETE", "/v1/volumes/vm1"},
                                                                                {"POST", "/v1/volumes/vm1/resize"},
                                                                                {"GET", "/v1/snapshots"},
                                                                                {"POST", "/v1/snapshots"},
                                                                                {"GET", "/v1/snapshots/vm1@s1"},
                                                                                {"DELETE", "/v1/snapshots/vm1@s1"},
                                                                                {"GET", "/v1/clones"},
                                                                                {"POST", "/v1/clones"}}) {
    response r = routes.dispatch({method, target, "application/json", "{}"}).reply;
    EXPECT_EQ(r.status, 503) << method << " " << target;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_EQ(body["error"]["code"], "unavailable") << r.body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find("the volumes face is not enabled"), std::string::npos);
  }
}

// ---- through the HTTP server ----

cli::http_response http(const testing::running_server& s, std::string_view method, std::string_view target,
                        std::string_view body = {}) {
  auto client = cli::http_client::create(s.url());
  EXPECT_TRUE(client.ok());
  auto res = client->request(method, target, body);
  EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.err().message);
  return res.ok() ? *res : cli::http_response{};
}

TEST(VolumeServer, RoutesAndMetricsAreServed) {
  testing::running_server s;
  ASSERT_EQ(http(s, "POST", "/v1/volumes", R"({"name": "vm1", "size": "1G"})").status, 201);
  ASSERT_EQ(http(s, "POST", "/v1/snapshots", R"({"volume": "vm1", "name": "s1"})").status, 201);
  EXPECT_EQ(http(s, "GET", "/v1/snapshots/vm1@s1").status, 200);
  s.on_network_thread([&] {
    s.volumes().catalog()["vm1"].allocated_bytes = 40960;
    s.volumes().usage_value = {.allocated_bytes = 81920,
                               .layers = 2,
                               .hidden_layers = 1,
                               .client_write_bytes = 40000,
                               .disk_write_bytes = 40960,
                               .map_write_bytes = 512,
                               .flushes = 3};
  });
  std::string metrics = http(s, "GET", "/metrics").body;
  for (std::string expected :
       {"strata_volumes_allocated_bytes 81920\n", "strata_volumes_layers 2\n", "strata_volumes_hidden_layers 1\n",
        "strata_volumes_client_write_bytes_total 40000\n", "strata_volumes_disk_write_bytes_total 40960\n",
        "strata_volumes_map_write_bytes_total 512\n", "strata_volumes_flushes_total 3\n", "strata_volumes 1\n",
        "strata_volume_size_bytes{volume=\"vm1\"} 1073741824\n",
        "strata_volume_allocated_bytes{volume=\"vm1\"} 40960\n", "# TYPE strata_volumes_flushes_total counter\n",
        "# TYPE strata_volume_size_bytes gauge\n",
        "strata_admin_requests_total{code=\"201\",method=\"POST\",route=\"/v1/snapshots\"} 1\n",
        "strata_admin_requests_total{code=\"200\",method=\"GET\",route=\"/v1/snapshots/{snapshot}\"} 1\n"}) {
    EXPECT_NE(metrics.find(expected), std::string::npos) << expected << " not in:\n" << metrics;
  }
}

TEST(VolumeServer, WithoutTheFaceRoutesAre503AndNoVolumeMetrics) {
  testing::running_server s({}, testing::running_server::volumes_face::off);
  auto res = http(s, "GET", "/v1/volumes");
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("the volumes face is not enabled"), std::string::npos) << res.body;
  std::string metrics = http(s, "GET", "/metrics").body;
  EXPECT_EQ(metrics.find("strata_volume"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("strata_topics 0\n"), std::string::npos) << metrics;
}

TEST(VolumeServer, StopRemovesTheVolumesCollector) {
  testing::running_server s;
  s.stop();
  std::string rendered;
  s.on_network_thread([&] { rendered = s.registry().render(); });
  EXPECT_EQ(rendered.find("strata_volumes"), std::string::npos) << rendered;
}

}  // namespace
}  // namespace strata::admin
