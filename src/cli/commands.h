// Command groups of the `gatepass` binary. Each registers its subcommands on the app and
// reports its exit code through `exit_code` (0 ok, 1 invalid token / check failed, 2 usage
// or config error).
#pragma once

#include <CLI/CLI.hpp>

namespace gatepass::cli {

struct exit_status {
  int code = 0;
};

void add_token_commands(CLI::App& app, exit_status& status);

/// Reads a whole file, or stdin for "-"; throws std::runtime_error naming the file.
std::string read_input(const std::string& path);

}  // namespace gatepass::cli
