#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"gatepass: self-hosted token authority and JWT gateway"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  gatepass::cli::exit_status status;
  gatepass::cli::add_token_commands(app, status);
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
