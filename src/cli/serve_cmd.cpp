// gatepass serve: the issuer (and, when configured, the gateway) on one event loop per core.
// Rotates on schedule, picks up keys changed by another process, drains on SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "issuer/issuer_service.h"
#include "net/http_server.h"

namespace gatepass::cli {

namespace asio = boost::asio;

namespace {

std::shared_ptr<const issuer::client_registry> load_clients(context& ctx) {
  std::vector<keys::client_record> all;
  if (auto stored = ctx.store->load_clients()) all = std::move(*stored);
  else std::cerr << "gatepass: clients: " << stored.error().message() << "\n";
  for (const auto& c : ctx.cfg.clients)
    all.push_back(keys::client_record{c.id, c.secret_hash, c.scopes, c.audience, 0});
  return std::make_shared<issuer::client_registry>(std::move(all));
}

int run_serve(const std::string& config_flag, unsigned threads) {
  auto ctx = open_context(config_flag);
  if (!ctx.cfg.issuer || ctx.cfg.issuer->listen.empty()) {
    std::cerr << ctx.cfg.path << ": issuer.listen: nothing to serve (the gateway arrives with a later release)\n";
    return 2;
  }
  const auto now0 = wall_clock();
  if (auto kid = ctx.keys->ensure_initialized(now0); !kid) {
    std::cerr << "gatepass: key store: " << kid.error().message() << "\n";
    return 2;
  }
  if (auto t = ctx.keys->tick(now0); !t) std::cerr << "gatepass: rotation: " << t.error().message() << "\n";
  auto ring = ctx.keys->snapshot();
  if (!ring) {
    std::cerr << "gatepass: key store: " << ring.error().message() << "\n";
    return 2;
  }
  auto svc = std::make_shared<issuer::issuer_service>(*ctx.cfg.issuer, ctx.keys->settings());
  svc->set_ring(*ring);
  svc->set_clients(load_clients(ctx));

  asio::io_context ioc(static_cast<int>(threads));
  net::http_server server(ioc, ctx.cfg.issuer->listen, [svc](const net::http_request& req) {
    return svc->handle(req, wall_clock());
  });
  std::cout << "gatepass issuer " << ctx.cfg.issuer->url << " listening on " << server.address()
            << std::endl;

  // Once a second: reload when another process changed the store; every 30 s (and then):
  // apply the rotation schedule. Store errors keep the last good keys in memory.
  std::string seen = (*ring)->version;
  std::string clients_seen;
  int ticks = 0;
  asio::steady_timer timer(ioc);
  std::function<void()> poll = [&] {
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      if (++ticks % 30 == 0)
        if (auto t = ctx.keys->tick(wall_clock()); !t)
          std::cerr << "gatepass: rotation failed, will retry: " << t.error().message() << "\n";
      auto v = ctx.keys->store_version();
      if (v && *v != seen) {
        if (auto r = ctx.keys->snapshot()) {
          seen = (*r)->version;
          svc->set_ring(*r);
          std::cout << "key ring reloaded" << std::endl;
        } else {
          std::cerr << "gatepass: reload failed, keeping the loaded keys: " << r.error().message() << "\n";
        }
      }
      if (ticks % 5 == 0) svc->set_clients(load_clients(ctx));
      poll();
    });
  };
  poll();

  asio::steady_timer drain_timer(ioc);
  std::chrono::steady_clock::time_point drain_until;
  std::function<void()> drain_check = [&] {
    if (server.connections() == 0 || std::chrono::steady_clock::now() >= drain_until) {
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](const boost::system::error_code&) { drain_check(); });
  };
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    std::cout << "draining" << std::endl;
    server.stop();
    timer.cancel();
    // in-flight requests finish; stop when no connection is left, or after 10 s
    drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    drain_check();
  });

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  std::cout << "stopped" << std::endl;
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, exit_status& status, std::string& config_flag) {
  auto threads = std::make_shared<unsigned>(std::max(1u, std::thread::hardware_concurrency()));
  auto* serve = app.add_subcommand("serve", "Run the issuer and/or gateway as the config says");
  serve->add_option("--threads", *threads, "Event loops (default: one per core)")->check(CLI::Range(1, 256));
  serve->callback([&status, &config_flag, threads] {
    try {
      status.code = run_serve(config_flag, *threads);
    } catch (const config::error& e) {
      for (const auto& p : e.problems()) std::cerr << p << "\n";
      status.code = 2;
    } catch (const std::exception& e) {
      std::cerr << "gatepass: " << e.what() << "\n";
      status.code = 2;
    }
  });
}

}  // namespace gatepass::cli
