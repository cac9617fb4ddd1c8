#include "keeper/config/config_online.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/transport.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::keeper {
namespace {

// AggregatorV3Interface.decimals(): bytes4(keccak256("decimals()")) = 0x313ce567.
constexpr std::uint8_t kDecimalsSelector[4] = {0x31, 0x3c, 0xe5, 0x67};

std::unique_ptr<chain::JsonRpcClient> make_client(const ChainSettings& chain,
                                                  const chain::Url& url) {
  chain::HttpOptions http;
  http.timeout = std::chrono::milliseconds(chain.request_timeout_ms);
  if (chain.ca_file) {
    http.ca_file = chain.ca_file->string();
  }
  // One retry: a check should say quickly that an endpoint is down, not wait it out.
  chain::RetryPolicy retry;
  retry.max_attempts = 2;
  return std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(url, http), retry);
}

// The error without the endpoint prefix (the message names the endpoint itself).
std::string reason(chain::RpcError error) {
  error.endpoint.clear();
  return error.describe();
}

class Checker {
 public:
  explicit Checker(const Config& config) : config_(config) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(config_.file.string() + ": " + key + ": " + what);
  }

  void require_code(chain::EthClient& eth, const std::string& key, const chain::Address& address,
                    std::vector<std::string>& lines) const {
    const std::string text = chain::to_checksum_address(address);
    auto code = eth.code(address);
    if (!code) {
      fail(key, "cannot read the code at " + text + " (" + reason(code.error()) + ")");
    }
    if (code->empty()) {
      fail(key, "no contract at " + text + " on chain " + std::to_string(config_.chain.chain_id));
    }
    lines.push_back(key + " " + text + ": " + std::to_string(code->size()) + " bytes of code");
  }

  // The feed's decimals(), or nullopt with the reason when the call fails or answers garbage.
  std::optional<unsigned> feed_decimals(chain::EthClient& eth, const chain::Address& aggregator,
                                        std::string& why) const {
    chain::CallRequest call;
    call.to = aggregator;
    call.data.assign(std::begin(kDecimalsSelector), std::end(kDecimalsSelector));
    auto answer = eth.call(call);
    if (!answer) {
      why = reason(answer.error());
      return std::nullopt;
    }
    // ABI: one uint8 in a 32-byte word.
    if (answer->size() != 32) {
      why = "an answer of " + std::to_string(answer->size()) + " bytes, not one 32-byte word";
      return std::nullopt;
    }
    const auto value = chain::u256_from_be(*answer);
    if (!value || *value > 255) {
      why = "an answer that is not a uint8";
      return std::nullopt;
    }
    return static_cast<unsigned>(*value);
  }

  std::vector<std::string> run() const {
    std::vector<std::string> lines;
    const auto& chain = config_.chain;
    if (chain.anvil) {
      lines.emplace_back("online: nothing to check, varkeeper run starts the chain (chain.anvil)");
      return lines;
    }
    std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
    for (std::size_t i = 0; i < chain.rpc.size(); ++i) {
      const std::string key = "chain.rpc[" + std::to_string(i) + "]";
      const std::string shown = chain::redacted(chain.rpc[i]);
      auto client = make_client(chain, chain.rpc[i]);
      auto id = client->call("eth_chainId");
      if (!id) {
        fail(key, "cannot read eth_chainId from " + shown + " (" + reason(id.error()) + ")");
      }
      auto chain_id = chain::decode_u64_quantity(*id, "eth_chainId");
      if (!chain_id) {
        fail(key, shown + " answered eth_chainId with " + reason(chain_id.error()));
      }
      if (*chain_id != chain.chain_id) {
        fail(key, shown + " serves chain " + std::to_string(*chain_id) + ", not chain.chain_id " +
                      std::to_string(chain.chain_id));
      }
      auto head = client->call("eth_blockNumber");
      if (!head) {
        fail(key, "cannot read eth_blockNumber from " + shown + " (" + reason(head.error()) + ")");
      }
      auto number = chain::decode_u64_quantity(*head, "eth_blockNumber");
      std::string line = key;
      line.append(" ").append(shown).append(": chain ").append(std::to_string(*chain_id));
      line.append(", block ").append(number ? std::to_string(*number) : std::string("?"));
      lines.push_back(std::move(line));
      clients.push_back(std::move(client));
    }
    chain::EndpointPool pool(std::move(clients));
    chain::EthClient eth(pool);

    const auto& contracts = config_.contracts;
    if (contracts.risk_oracle) {
      require_code(eth, "contracts.risk_oracle", *contracts.risk_oracle, lines);
    }
    if (contracts.rebalancer) {
      require_code(eth, "contracts.rebalancer", *contracts.rebalancer, lines);
    }
    if (contracts.protection) {
      require_code(eth, "contracts.protection", *contracts.protection, lines);
    }

    for (std::size_t a = 0; a < config_.assets.size(); ++a) {
      const auto& asset = config_.assets[a];
      for (std::size_t s = 0; s < asset.sources.size(); ++s) {
        const std::string key =
            "assets[" + std::to_string(a) + "].sources[" + std::to_string(s) + "].aggregator";
        require_code(eth, key, asset.sources[s].aggregator, lines);
        std::string why;
        const auto decimals = feed_decimals(eth, asset.sources[s].aggregator, why);
        const std::string text = chain::to_checksum_address(asset.sources[s].aggregator);
        if (!decimals) {
          std::string message = "decimals() on " + text;
          message.append(" failed (").append(why).append(")");
          fail(key, message);
        }
        if (asset.decimals && *asset.decimals != *decimals) {
          fail("assets[" + std::to_string(a) + "].decimals",
               std::to_string(*asset.decimals) + " configured, but the feed at " + text +
                   " answers decimals() = " + std::to_string(*decimals));
        }
        lines.back() += ", decimals " + std::to_string(*decimals);
      }
    }
    return lines;
  }

 private:
  const Config& config_;
};

}  // namespace

std::vector<std::string> check_online(const Config& config) { return Checker(config).run(); }

}  // namespace varkeeper::keeper
