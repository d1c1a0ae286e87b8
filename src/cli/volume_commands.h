// `strata volume create|list|describe|resize|delete`,
// `strata snapshot create|list|delete` and `strata clone create`: block volume
// administration through the admin HTTP API (/v1/volumes, /v1/snapshots,
// /v1/clones). Sizes are read with parse_size ("10G") and shown with
// format_size ("10 GiB").
#pragma once

#include <iostream>
#include <string>

namespace CLI {
class App;
}

namespace strata::cli {

// Registers the `volume`, `snapshot` and `clone` subcommands on `app`, each
// with --admin URL (default http://127.0.0.1:9644). Output and failures as for
// add_topic_commands: "strata: <why>" on `err` and exit code 1. `out` and
// `err` must outlive app.
void add_volume_commands(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// The commands, callable without CLI11; each returns the exit code (0 or 1).
// size: human text such as "10G", "512M" or "4096" (bytes), checked before
// the server is called. snapshot_ref: "VOLUME@SNAPSHOT".
int volume_create(const std::string& admin_url, const std::string& name, const std::string& size, std::ostream& out,
                  std::ostream& err);
int volume_list(const std::string& admin_url, std::ostream& out, std::ostream& err);
int volume_describe(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);
int volume_resize(const std::string& admin_url, const std::string& name, const std::string& size, std::ostream& out,
                  std::ostream& err);
int volume_delete(const std::string& admin_url, const std::string& name, std::ostream& out, std::ostream& err);

int snapshot_create(const std::string& admin_url, const std::string& volume, const std::string& snapshot,
                    std::ostream& out, std::ostream& err);
// volume empty: the snapshots of every volume.
int snapshot_list(const std::string& admin_url, const std::string& volume, std::ostream& out, std::ostream& err);
int snapshot_delete(const std::string& admin_url, const std::string& snapshot_ref, std::ostream& out,
                    std::ostream& err);

int clone_create(const std::string& admin_url, const std::string& snapshot_ref, const std::string& name,
                 std::ostream& out, std::ostream& err);

}  // namespace strata::cli
