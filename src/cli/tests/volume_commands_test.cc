#include "cli/volume_commands.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>

#include "admin/tests/test_support.h"
#include "cli/tests/closed_port.h"

namespace strata::cli {
namespace {

using admin::testing::running_server;

constexpr uint64_t gib = 1ULL << 30;

struct output {
  std::ostringstream out;
  std::ostringstream err;
};

std::string unreachable_url() { return "http://127.0.0.1:" + std::to_string(testing::closed_port()); }

TEST(VolumeCommands, CreateListDescribeResizeDelete) {
  running_server s;
  output create;
  EXPECT_EQ(volume_create(s.url(), "vm1", "10G", create.out, create.err), 0) << create.err.str();
  EXPECT_EQ(create.out.str(), "Created volume vm1 (10 GiB).\n");
  EXPECT_EQ(create.err.str(), "");
  output small;
  EXPECT_EQ(volume_create(s.url(), "db", "512M", small.out, small.err), 0) << small.err.str();
  EXPECT_EQ(small.out.str(), "Created volume db (512 MiB).\n");
  s.on_network_thread([&] {
    EXPECT_EQ(s.volumes().catalog()["vm1"].size_bytes, 10 * gib);
    s.volumes().catalog()["vm1"].allocated_bytes = 1536 * 1024;
    s.volumes().usage_value.allocated_bytes = 3 * 1024 * 1024;
    s.volumes().usage_value.layers = 2;
    s.volumes().open.insert("db");
  });

  output list;
  EXPECT_EQ(volume_list(s.url(), list.out, list.err), 0) << list.err.str();
  EXPECT_EQ(list.out.str(),
            "NAME  SIZE     ALLOCATED  ORIGIN  SNAPSHOTS  OPEN_EXPORTS\n"
            "db    512 MiB  0 B        -       0          1\n"
            "vm1   10 GiB   1.5 MiB    -       0          0\n"
            "\n"
            "Allocated in all layers: 3 MiB (2 layers, 0 hidden).\n");

  output describe;
  EXPECT_EQ(volume_describe(s.url(), "vm1", describe.out, describe.err), 0) << describe.err.str();
  EXPECT_EQ(describe.out.str(),
            "Volume:        vm1\n"
            "Size:          10 GiB (10737418240 bytes)\n"
            "Allocated:     1.5 MiB (1572864 bytes)\n"
            "Origin:        -\n"
            "Created:       2023-11-14 22:13:21 UTC\n"
            "Open exports:  0\n"
            "Snapshots:     none\n");

  output resize;
  EXPECT_EQ(volume_resize(s.url(), "vm1", "20GiB", resize.out, resize.err), 0) << resize.err.str();
  EXPECT_EQ(resize.out.str(), "Resized volume vm1 to 20 GiB.\n");
  s.on_network_thread([&] { EXPECT_EQ(s.volumes().catalog()["vm1"].size_bytes, 20 * gib); });

  output del;
  EXPECT_EQ(volume_delete(s.url(), "vm1", del.out, del.err), 0) << del.err.str();
  EXPECT_EQ(del.out.str(), "Deleted volume vm1.\n");
  s.on_network_thread([&] { EXPECT_FALSE(s.volumes().catalog().contains("vm1")); });
}

TEST(VolumeCommands, SnapshotsAndClones) {
  running_server s;
  output setup;
  ASSERT_EQ(volume_create(s.url(), "vm1", "1G", setup.out, setup.err), 0) << setup.err.str();
  ASSERT_EQ(volume_create(s.url(), "vm9", "1G", setup.out, setup.err), 0) << setup.err.str();

  output snap;
  EXPECT_EQ(snapshot_create(s.url(), "vm1", "s1", snap.out, snap.err), 0) << snap.err.str();
  EXPECT_EQ(snap.out.str(), "Created snapshot vm1@s1 (1 GiB); its read-only NBD export is vm1@s1.\n");
  ASSERT_EQ(snapshot_create(s.url(), "vm9", "nightly", setup.out, setup.err), 0) << setup.err.str();

  output clone;
  EXPECT_EQ(clone_create(s.url(), "vm1@s1", "vm2", clone.out, clone.err), 0) << clone.err.str();
  EXPECT_EQ(clone.out.str(), "Created clone vm2 of vm1@s1 (1 GiB).\n");

  output all;
  EXPECT_EQ(snapshot_list(s.url(), "", all.out, all.err), 0) << all.err.str();
  EXPECT_EQ(all.out.str(),
            "SNAPSHOT     SIZE   ALLOCATED  CLONES  CREATED\n"
            "vm1@s1       1 GiB  0 B        1       2023-11-14 22:13:23 UTC\n"
            "vm9@nightly  1 GiB  0 B        0       2023-11-14 22:13:24 UTC\n");
  output one;
  EXPECT_EQ(snapshot_list(s.url(), "vm9", one.out, one.err), 0) << one.err.str();
  EXPECT_EQ(one.out.str(),
            "SNAPSHOT     SIZE   ALLOCATED  CLONES  CREATED\n"
            "vm9@nightly  1 GiB  0 B        0       2023-11-14 22:13:24 UTC\n");

  output vols;
  EXPECT_EQ(volume_list(s.url(), vols.out, vols.err), 0);
  EXPECT_NE(vols.out.str().find("\nvm1   1 GiB  0 B        -       1          0\n"), std::string::npos)
      << vols.out.str();
  EXPECT_NE(vols.out.str().find("\nvm2   1 GiB  0 B        vm1@s1  0          0\n"), std::string::npos)
      << vols.out.str();

  output described;
  EXPECT_EQ(volume_describe(s.url(), "vm2", described.out, described.err), 0);
  EXPECT_NE(described.out.str().find("Origin:        vm1@s1\n"), std::string::npos) << described.out.str();
  output parent;
  EXPECT_EQ(volume_describe(s.url(), "vm9", parent.out, parent.err), 0);
  EXPECT_NE(parent.out.str().find("Snapshots:     nightly\n"), std::string::npos) << parent.out.str();

  output del;
  EXPECT_EQ(snapshot_delete(s.url(), "vm9@nightly", del.out, del.err), 0) << del.err.str();
  EXPECT_EQ(del.out.str(), "Deleted snapshot vm9@nightly.\n");
  output none;
  EXPECT_EQ(snapshot_list(s.url(), "vm9", none.out, none.err), 0);
  EXPECT_EQ(none.out.str(), "Volume vm9 has no snapshots.\n");
}

TEST(VolumeCommands, EmptyListsSaySo) {
  running_server s;
  output volumes;
  EXPECT_EQ(volume_list(s.url(), volumes.out, volumes.err), 0);
  EXPECT_EQ(volumes.out.str(), "No volumes.\n");
  output snapshots;
  EXPECT_EQ(snapshot_list(s.url(), "", snapshots.out, snapshots.err), 0);
  EXPECT_EQ(snapshots.out.str(), "No snapshots.\n");
}

TEST(VolumeCommands, ServerErrorsPrintTheServersMessage) {
  running_server s;
  output first;
  ASSERT_EQ(volume_create(s.url(), "vm1", "1G", first.out, first.err), 0);

  output again;
  EXPECT_EQ(volume_create(s.url(), "vm1", "1G", again.out, again.err), 1);
  EXPECT_EQ(again.out.str(), "");
  EXPECT_EQ(again.err.str(), "strata: volume vm1 already exists\n");

  output shrink;
  EXPECT_EQ(volume_resize(s.url(), "vm1", "1M", shrink.out, shrink.err), 1);
  EXPECT_EQ(shrink.err.str(), "strata: volume vm1 cannot shrink; give a size of at least 1073741824 bytes\n");

  output unaligned;
  EXPECT_EQ(volume_create(s.url(), "odd", "1000", unaligned.out, unaligned.err), 1);
  EXPECT_EQ(unaligned.err.str(), "strata: size 1000 is not a positive multiple of 4096 bytes up to 8 TiB\n");

  output missing;
  EXPECT_EQ(volume_describe(s.url(), "nope", missing.out, missing.err), 1);
  EXPECT_EQ(missing.err.str(), "strata: unknown volume nope\n");

  output no_snap;
  EXPECT_EQ(clone_create(s.url(), "vm1@s9", "vm2", no_snap.out, no_snap.err), 1);
  EXPECT_EQ(no_snap.err.str(), "strata: unknown snapshot vm1@s9\n");

  s.on_network_thread([&] { s.volumes().open.insert("vm1"); });
  output busy;
  EXPECT_EQ(volume_delete(s.url(), "vm1", busy.out, busy.err), 1);
  EXPECT_EQ(busy.err.str(), "strata: volume vm1 is open by an NBD client; disconnect it first\n");

  s.on_network_thread([&] { s.volumes().fail_next = make_error(errc::no_space, "the disk is full; free space"); });
  output full;
  EXPECT_EQ(snapshot_create(s.url(), "vm1", "s1", full.out, full.err), 1);
  EXPECT_EQ(full.err.str(), "strata: the disk is full; free space\n");
}

TEST(VolumeCommands, BadSizesAreRejectedBeforeCalling) {
  // A closed port: reaching the network would give a different message.
  std::string url = unreachable_url();
  output bad;
  EXPECT_EQ(volume_create(url, "vm1", "10X", bad.out, bad.err), 1);
  EXPECT_EQ(bad.err.str(),
            "strata: --size 10X is not a size; use e.g. 10G or 512M (K, M, G, T mean KiB, MiB, GiB, TiB)\n");
  output huge;
  EXPECT_EQ(volume_resize(url, "vm1", "99999999999T", huge.out, huge.err), 1);
  EXPECT_EQ(huge.err.str(), "strata: --size 99999999999T is too large; a size must be below 16 EiB (2^64 bytes)\n");
  output fraction;
  EXPECT_EQ(volume_create(url, "vm1", "1.5G", fraction.out, fraction.err), 1);
  EXPECT_NE(fraction.err.str().find("--size 1.5G is not a size"), std::string::npos) << fraction.err.str();
}

TEST(VolumeCommands, BadSnapshotNamesAreRejectedBeforeCalling) {
  std::string url = unreachable_url();
  for (std::string ref : {"vm1", "@s1", "vm1@", "a@b@c"}) {
    output del;
    EXPECT_EQ(snapshot_delete(url, ref, del.out, del.err), 1);
    EXPECT_EQ(del.err.str(), "strata: " + ref + " does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1\n");
    output clone;
    EXPECT_EQ(clone_create(url, ref, "vm2", clone.out, clone.err), 1);
    EXPECT_EQ(clone.err.str(), "strata: " + ref + " does not name a snapshot; use VOLUME@SNAPSHOT, e.g. vm1@s1\n");
  }
}

TEST(VolumeCommands, UnreachableServerSaysWhatToDo) {
  std::string url = unreachable_url();
  std::string expected = "strata: cannot reach the admin API at " + url +
                         " (Connection refused). Is `strata server` running? Use --admin to point elsewhere.\n";
  output list;
  EXPECT_EQ(volume_list(url, list.out, list.err), 1);
  EXPECT_EQ(list.out.str(), "");
  EXPECT_EQ(list.err.str(), expected);
  output snap;
  EXPECT_EQ(snapshot_create(url, "vm1", "s1", snap.out, snap.err), 1);
  EXPECT_EQ(snap.err.str(), expected);
}

TEST(VolumeCommands, ServerWithoutTheVolumesFaceSaysSo) {
  running_server s({}, running_server::volumes_face::off);
  output o;
  EXPECT_EQ(volume_list(s.url(), o.out, o.err), 1);
  EXPECT_NE(o.err.str().find("strata: the volumes face is not enabled on this server"), std::string::npos)
      << o.err.str();
}

// Parses a command line as main() would and returns its exit code.
int run(const std::string& args, output& o) {
  CLI::App app("strata");
  add_volume_commands(app, o.out, o.err);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, o.out, o.err);
  }
  return 0;
}

TEST(VolumeCommandLine, TheIssuesWalkthrough) {
  running_server s;
  std::string admin = " --admin " + s.url();
  struct step {
    std::string args;
    std::string printed;
  };
  const std::vector<step> steps = {
      {"volume create vm1 --size 10G", "Created volume vm1 (10 GiB).\n"},
      {"snapshot create vm1 s1", "Created snapshot vm1@s1 (10 GiB); its read-only NBD export is vm1@s1.\n"},
      {"clone create vm1@s1 vm2", "Created clone vm2 of vm1@s1 (10 GiB).\n"},
      {"volume resize vm2 -s 20G", "Resized volume vm2 to 20 GiB.\n"},
      {"snapshot delete vm1@s1", "Deleted snapshot vm1@s1.\n"},
      {"volume delete vm2", "Deleted volume vm2.\n"},
  };
  for (const auto& st : steps) {
    output o;
    EXPECT_EQ(run(st.args + admin, o), 0) << st.args << ": " << o.err.str();
    EXPECT_EQ(o.out.str(), st.printed) << st.args;
  }
  output list;
  EXPECT_EQ(run("volume list" + admin, list), 0);
  EXPECT_TRUE(
      list.out.str().starts_with("NAME  SIZE    ALLOCATED  ORIGIN  SNAPSHOTS  OPEN_EXPORTS\n"
                                 "vm1   10 GiB  0 B        -       0          0\n"))
      << list.out.str();
  output snapshots;
  EXPECT_EQ(run("snapshot list vm1" + admin, snapshots), 0);
  EXPECT_EQ(snapshots.out.str(), "Volume vm1 has no snapshots.\n");
  output describe;
  EXPECT_EQ(run("volume describe vm1" + admin, describe), 0);
  EXPECT_TRUE(describe.out.str().starts_with("Volume:        vm1\n")) << describe.out.str();
}

TEST(VolumeCommandLine, FailureExitsWithOneAndOnlyTheMessage) {
  output o;
  EXPECT_EQ(run("volume create vm1 --size 10X --admin " + unreachable_url(), o), 1);
  EXPECT_EQ(o.out.str(), "");
  EXPECT_EQ(o.err.str(),
            "strata: --size 10X is not a size; use e.g. 10G or 512M (K, M, G, T mean KiB, MiB, GiB, TiB)\n");
}

TEST(VolumeCommandLine, UsageErrors) {
  for (std::string args :
       {"volume create vm1", "volume create --size 1G", "volume resize vm1", "volume", "snapshot create vm1",
        "snapshot delete", "clone create vm1@s1", "clone", "volume list extra"}) {
    output o;
    EXPECT_NE(run(args, o), 0) << args;
  }
}

TEST(VolumeCommandLine, AdminDefaultsToTheLocalServer) {
  CLI::App app("strata");
  add_volume_commands(app);
  for (auto [group, command] : std::vector<std::pair<std::string, std::string>>{{"volume", "create"},
                                                                                {"volume", "list"},
                                                                                {"volume", "describe"},
                                                                                {"volume", "resize"},
                                                                                {"volume", "delete"},
                                                                                {"snapshot", "create"},
                                                                                {"snapshot", "list"},
                                                                                {"snapshot", "delete"},
                                                                                {"clone", "create"}}) {
    CLI::App* cmd = app.get_subcommand(group)->get_subcommand(command);
    EXPECT_EQ(cmd->get_option("--admin")->get_default_str(), "http://127.0.0.1:9644") << group << " " << command;
  }
}

}  // namespace
}  // namespace strata::cli
