// Command groups of the `gatepass` binary. Each registers its subcommands on the app and
// reports its exit code through `exit_code` (0 ok, 1 invalid token / check failed, 2 usage
// or config error).
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gatepass::cli {

struct exit_status {
  int code = 0;
};

void add_token_commands(CLI::App& app, exit_status& status);
/// init, keys, client, token issue, publish, config check (needs the token group first).
void add_issuer_commands(CLI::App& app, exit_status& status, std::string& config_flag);
void add_serve_command(CLI::App& app, exit_status& status, std::string& config_flag);

/// Custom claims from --claims-json FILE|- and --claim NAME=VALUE; prints the problem and
/// returns nullopt when either is malformed.
std::optional<boost::json::object> custom_claims(const std::string& json_source,
                                                 const std::vector<std::string>& pairs);

/// Reads a whole file, or stdin for "-"; throws std::runtime_error naming the file.
std::string read_input(const std::string& path);

/// A --kid given on the command line: 1 to 100 characters, none of them a control character
/// (a kid is printed by `keys list` and logged; a line break in one forges lines there).
CLI::Validator kid_text();

}  // namespace gatepass::cli
