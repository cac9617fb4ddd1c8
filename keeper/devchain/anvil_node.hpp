// A local anvil node (the npm-installed Foundry binary) started on a free loopback port and
// stopped when this object dies — used by `varkeeper run` and by the integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace varkeeper::keeper {

struct AnvilOptions {
  std::string binary;  // path of anvil; empty = find_anvil()
  std::uint64_t chain_id = 31337;
  int block_time_seconds = 0;  // 0 = mine on every transaction (automine)
  bool no_mining = false;
  std::vector<std::string> extra_args;
  std::chrono::milliseconds start_timeout{15'000};
};

class AnvilNode {
 public:
  // Starts anvil on 127.0.0.1 at a free port and waits until it answers; throws
  // std::runtime_error with one sentence when the binary is missing or it does not come up.
  explicit AnvilNode(AnvilOptions options = {});
  ~AnvilNode();
  AnvilNode(const AnvilNode&) = delete;
  AnvilNode& operator=(const AnvilNode&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string http_url() const;
  [[nodiscard]] std::string ws_url() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Kills the node now (SIGKILL) — for fault-injection tests.
  void kill_now();

 private:
  void stop();
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// anvil's well-known development keys (mnemonic "test test ... junk"), account 0 and 1:
// for local chains only, never for real funds.
inline constexpr const char* kAnvilKey0 =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
inline constexpr const char* kAnvilKey1 =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

// The anvil binary: $VARKEEPER_ANVIL, else node_modules/.bin/anvil under the source tree, else
// PATH.
[[nodiscard]] std::string find_anvil();

// A TCP port on 127.0.0.1 that was free a moment ago.
[[nodiscard]] std::uint16_t free_loopback_port();

}  // namespace varkeeper::keeper
