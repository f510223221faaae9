#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"gatepass: self-hosted token authority and JWT gateway"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  gatepass::cli::exit_status status;
  std::string config_flag;
  app.add_option("--config", config_flag,
                 "Config file (default: $GATEPASS_CONFIG, else ./gatepass.yaml)");
  app.fallthrough();  // --config may also follow the subcommand
  gatepass::cli::add_token_commands(app, status);
  gatepass::cli::add_issuer_commands(app, status, config_flag);
  gatepass::cli::add_serve_command(app, status, config_flag);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error
  } catch (const std::exception& e) {
    std::cerr << "gatepass: " << e.what() << "\n";
    return 2;
  }
  return status.code;
}
