// gatepass serve: the issuer (and, when configured, the gateway) on one event loop per core.
// Rotates on schedule, picks up keys changed by another process, drains on SIGTERM.
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "gateway/gateway_server.h"
#include "gateway/jwks_cache.h"
#include "issuer/issuer_service.h"
#include "issuer/signing_hold.h"
#include "net/http_server.h"

namespace gatepass::cli {

namespace asio = boost::asio;

namespace {

// The store's clients plus the config's; null when the store cannot be read (keep the last good).
std::shared_ptr<const issuer::client_registry> load_clients(
    context& ctx, const issuer::client_registry* running = nullptr) {
  std::vector<keys::client_record> all;
  if (auto stored = ctx.store->load_clients()) {
    all = std::move(*stored);
  } else {
    std::cerr << "gatepass: clients: " << stored.error().message() << "\n";
    return nullptr;
  }
  for (const auto& c : ctx.cfg.clients)
    all.push_back(keys::client_record{c.id, c.secret_hash, c.scopes, c.audience, 0});
  return std::make_shared<issuer::client_registry>(std::move(all), running);
}

// Every connection is a descriptor, and the soft open-files limit is often 1024: it is raised to
// the hard limit (as Go's runtime does at start), and a limit still short of what the connection
// caps allow is said at start. Past it, accepts pause (net/accept_pause.h) and new connections
// wait in the listen queue; the cap itself is never reached.
void raise_open_files_limit(std::size_t wanted) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit up = rl;
    up.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
  }
  if (rl.rlim_cur != RLIM_INFINITY && wanted > rl.rlim_cur)
    std::cerr << "gatepass: warning: the open-files limit is " << rl.rlim_cur << ", below the "
              << wanted
              << " descriptors the connection limits allow: raise it (ulimit -n, systemd "
                 "LimitNOFILE=) or lower gateway.limits.max_connections\n";
}

int run_serve(const std::string& config_flag, unsigned threads) {
  auto ctx = open_context(config_flag);
  const bool issuer_on = ctx.cfg.issuer && !ctx.cfg.issuer->listen.empty();
  const bool gateway_on = ctx.cfg.gateway.has_value();
  if (!issuer_on && !gateway_on) {
    std::cerr << ctx.cfg.path
              << ": nothing to serve: set issuer.listen or add a gateway: section\n";
    return 2;
  }
  if (gateway_on && ctx.cfg.gateway->threads != 0) threads = ctx.cfg.gateway->threads;
  // (a request in flight holds an upstream connection too: those are on top)
  raise_open_files_limit((gateway_on ? ctx.cfg.gateway->limits.max_connections : 0) +
                         (issuer_on ? net::server_limits{}.max_connections : 0) + 64);

  // One event loop per core for the gateway; the issuer, timers and signals live on loop 0.
  const unsigned loop_count = gateway_on ? threads : 1;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  // With the gateway on, one thread runs each loop and every socket, acceptor and timer of a
  // loop is only ever used from that thread (other threads only post to it): the reactor's
  // per-descriptor locks are left out, a few per proxied request. An issuer alone runs one loop
  // on several threads and keeps them.
  const int hint = gateway_on ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO : static_cast<int>(threads);
  for (unsigned i = 0; i < loop_count; ++i)
    loops.push_back(std::make_unique<asio::io_context>(hint));
  // Destroyed last-first, after everything declared below: handlers still queued in a stopped
  // loop may hold objects bound to loop 0 (the JWKS caches' timers), so loop 0 goes last.
  struct last_first {
    std::vector<std::unique_ptr<asio::io_context>>& v;
    ~last_first() {
      while (!v.empty()) v.pop_back();
    }
  } loops_order{loops};
  asio::io_context& main_loop = *loops.front();

  std::shared_ptr<issuer::issuer_service> svc;
  std::unique_ptr<net::http_server> issuer_server;
  std::string seen;
  // A current key this issuer never published signs a while after it is published here: the
  // other instances on the store publish it first (issuer/signing_hold.h). Used by this thread
  // at start, then only by the store thread.
  issuer::signing_hold hold(issuer::sign_after_publish);
  if (issuer_on) {
    const auto now0 = wall_clock();
    if (auto kid = ctx.keys->ensure_initialized(now0); !kid) {
      std::cerr << "gatepass: key store: " << kid.error().message() << "\n";
      return 2;
    }
    if (auto t = ctx.keys->tick(now0); !t)
      std::cerr << "gatepass: rotation: " << t.error().message() << "\n";
    auto ring = ctx.keys->snapshot();
    if (!ring) {
      std::cerr << "gatepass: key store: " << ring.error().message() << "\n";
      return 2;
    }
    warn_unencrypted_keys(ctx.cfg, **ring);
    seen = (*ring)->version;
    svc = std::make_shared<issuer::issuer_service>(*ctx.cfg.issuer, ctx.keys->settings());
    svc->set_ring(hold.on_start(*ring, wall_clock(), std::chrono::steady_clock::now()));
    if (!hold.held_kid().empty())
      std::cout << "key " << hold.held_kid() << " became current moments ago and signs in under "
                << issuer::sign_after_publish.count() << " s (other issuers publish it first)"
                << std::endl;
    auto clients = load_clients(ctx);
    if (!clients) return 2;
    svc->set_clients(std::move(clients));
    // A token request that needs an argon2id check (a client not verified yet, an unknown id)
    // runs on worker threads, half the cores at most: the JWKS, discovery, verified clients
    // and, in one process, the gateway's loop 0 never wait for a flood of made-up clients.
    net::offload_options token_work;
    token_work.when = [svc](const net::http_request& req) {
      return svc->needs_secret_hashing(req);
    };
    token_work.threads = std::max(1u, std::thread::hardware_concurrency() / 2);
    // and every other token request (an RSA signature, about a millisecond) on a thread of its
    // own: a verified client asking for tokens in a loop never holds up the gateway's loop 0
    token_work.light = [](const net::http_request& req) {
      return req.method == "POST" && req.path() == "/oauth2/token";
    };
    issuer_server = std::make_unique<net::http_server>(
        main_loop, ctx.cfg.issuer->listen,
        [svc](const net::http_request& req) { return svc->handle(req, wall_clock()); },
        net::server_limits{}, std::move(token_work));
    std::cout << "gatepass issuer " << ctx.cfg.issuer->url << " listening on "
              << issuer_server->address() << std::endl;
  }

  gateway::jwks_caches caches;
  std::unique_ptr<gateway::gateway_server> gw;
  std::unique_ptr<net::http_server> admin_server;
  std::shared_ptr<const gateway::gateway_state> gw_state;
  if (gateway_on) {
    gw_state = gateway::build_state(*ctx.cfg.gateway, main_loop, caches);
    std::vector<asio::io_context*> raw;
    for (auto& l : loops) raw.push_back(l.get());
    gw = std::make_unique<gateway::gateway_server>(raw, gw_state);
    const auto& listen = ctx.cfg.gateway->listen;
    std::cout << "gatepass gateway listening on " << listen.substr(0, listen.rfind(':')) << ":"
              << gw->port() << " (" << loop_count << " event loop" << (loop_count > 1 ? "s" : "")
              << ")" << std::endl;
    if (!ctx.cfg.gateway->admin_listen.empty()) {
      auto* state_ref = &gw_state;
      admin_server = std::make_unique<net::http_server>(
          main_loop, ctx.cfg.gateway->admin_listen, [state_ref](const net::http_request& req) {
            if (auto r = gateway::admin_response(**state_ref, req.path())) return *r;
            return net::json_response(404, "{\"message\":\"Not Found\"}");
          });
      std::cout << "gatepass admin listening on " << admin_server->address() << std::endl;
    }
  }

  // The key store is watched on its own thread, so a slow or unreachable database never stalls a
  // request: a change another process committed is picked up at once when the store notifies
  // (PostgreSQL LISTEN/NOTIFY) and within a second by polling otherwise; the rotation schedule
  // runs every 30 s (5 s after a failure). Store errors keep the last good keys and clients.
  std::atomic<bool> stopping{false};
  std::thread store_thread;
  if (svc) {
    store_thread = std::thread([&] {
      using clock = std::chrono::steady_clock;
      auto next_tick = clock::now() + std::chrono::seconds(30);
      auto next_poll = clock::now();
      auto next_clients = clock::now() + std::chrono::seconds(5);
      while (!stopping.load()) {
        bool notified = false;
        if (const int fd = ctx.store->change_fd(); fd >= 0) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 250) > 0) notified = ctx.store->consume_changes();
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        const auto now = clock::now();
        if (now >= next_tick) {
          auto t = ctx.keys->tick(wall_clock());
          if (!t)
            std::cerr << "gatepass: rotation failed, will retry in 5 s: " << t.error().message()
                      << "\n";
          next_tick = now + std::chrono::seconds(t ? 30 : 5);
          if (t && *t) notified = true;
        }
        if (notified || now >= next_poll) {
          next_poll = now + std::chrono::seconds(1);
          auto v = ctx.keys->store_version();
          if (v && *v != seen) {
            if (auto r = ctx.keys->snapshot()) {
              seen = (*r)->version;
              svc->set_ring(hold.on_ring(*r, svc->ring().get(), clock::now()));
              std::cout << "key ring reloaded" << std::endl;
              if (!hold.held_kid().empty())
                std::cout << "key " << hold.held_kid() << " is published now and signs in "
                          << issuer::sign_after_publish.count()
                          << " s (other issuers publish it first)" << std::endl;
            } else {
              std::cerr << "gatepass: reload failed, keeping the loaded keys: "
                        << r.error().message() << "\n";
            }
          }
        }
        if (auto r = hold.on_tick(clock::now())) {
          svc->set_ring(std::move(r));
          std::cout << "key " << (*svc->ring()->current).kid() << " signs now" << std::endl;
        }
        if (now >= next_clients) {
          next_clients = now + std::chrono::seconds(5);
          if (auto c = load_clients(ctx, svc->clients().get())) svc->set_clients(std::move(c));
        }
      }
    });
  }

  // SIGHUP: reload the config; routes and authorizers are swapped whole, connections stay.
  asio::signal_set hup(main_loop, SIGHUP);
  std::function<void()> on_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      try {
        auto fresh = config::load(ctx.cfg.path);
        // What a reload cannot change goes on as it runs, said so: the listeners, the event
        // loops, whether a gateway runs at all, and the issuer (keys and clients reload by
        // themselves from the store)
        auto unchanged = [](const char* field) {
          std::cerr << "gatepass: " << field << " changed: restart to apply\n";
        };
        if (gw && fresh.gateway) {
          // the running values stay in the config kept, so the next reload compares with them
          // (/metrics stays where it is served now)
          auto keep = [&](auto& fresh_value, const auto& running, const char* field) {
            if (fresh_value == running) return;
            unchanged(field);
            fresh_value = running;
          };
          keep(fresh.gateway->listen, ctx.cfg.gateway->listen, "gateway.listen");
          keep(fresh.gateway->admin_listen, ctx.cfg.gateway->admin_listen, "gateway.admin_listen");
          keep(fresh.gateway->threads, ctx.cfg.gateway->threads, "gateway.threads");
          auto state = gateway::build_state(*fresh.gateway, main_loop, caches, gw_state.get());
          gw->reload_tls(fresh.gateway->tls);
          gw_state = std::move(state);
          gw->set_state(gw_state);
          ctx.cfg.gateway = fresh.gateway;
        } else if (gw) {
          std::cerr << "gatepass: the gateway section was removed: restart to stop the gateway; "
                       "it runs on unchanged\n";
        } else if (fresh.gateway) {
          unchanged("gateway (added)");
        }
        if (fresh.issuer.has_value() != ctx.cfg.issuer.has_value() ||
            (fresh.issuer && ctx.cfg.issuer && !(*fresh.issuer == *ctx.cfg.issuer)))
          unchanged("issuer");
        std::cout << "configuration reloaded" << std::endl;
      } catch (const std::exception& e) {  // config::error with file:line, or a file that fails
        std::cerr << "gatepass: reload refused, keeping the running configuration:\n"
                  << e.what() << "\n";
      }
      // JWKS caches of issuers no authorizer uses any more (or that only a refused config named)
      // stop polling them
      if (gw_state) gateway::prune_jwks_caches(caches, *gw_state);
      on_hup();
    });
  };
  on_hup();

  asio::steady_timer drain_timer(main_loop);
  std::chrono::steady_clock::time_point drain_until;
  std::function<void()> drain_check = [&] {
    const auto open = (issuer_server ? issuer_server->connections() : 0) +
                      (gw ? static_cast<std::size_t>(gw->connections()) : 0);
    if (open == 0 || std::chrono::steady_clock::now() >= drain_until) {
      for (auto& l : loops) l->stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](const boost::system::error_code&) { drain_check(); });
  };
  asio::signal_set signals(main_loop, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    std::cout << "draining" << std::endl;
    if (issuer_server) issuer_server->stop();
    if (admin_server) admin_server->stop();
    if (gw) gw->stop();
    stopping = true;
    hup.cancel();
    // in-flight requests finish; stop when no connection is left, or after 10 s
    drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    drain_check();
  });

  std::vector<std::thread> pool;
  const unsigned threads_per_loop = gateway_on ? 1 : threads;
  for (auto& l : loops)
    for (unsigned t = 0; t < threads_per_loop; ++t)
      pool.emplace_back([&l] {
        auto guard = asio::make_work_guard(*l);
        l->run();
        gateway::clear_upstream_pool();
      });
  for (auto& t : pool) t.join();
  stopping = true;
  if (store_thread.joinable()) store_thread.join();
  for (auto& [url, cache] : caches) cache->stop();
  std::cout << "stopped" << std::endl;
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, exit_status& status, std::string& config_flag) {
  auto threads = std::make_shared<unsigned>(std::max(1u, std::thread::hardware_concurrency()));
  auto* serve = app.add_subcommand("serve", "Run the issuer and/or gateway as the config says");
  serve->add_option("--threads", *threads, "Event loops (default: one per core)")
      ->check(CLI::Range(1, 256));
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
