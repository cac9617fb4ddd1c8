// The sending side of the peer exchange (issue 18): push our signed report to every peer at once,
// and pull one peer's report for a round we missed. HTTP/1.1 on Boost.Beast (this .cpp only);
// each exchange has one deadline for resolve, connect, write and read together.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chain/expected.hpp"
#include "keeper/network/peer_message.hpp"
#include "keeper/network/signature_book.hpp"

namespace varkeeper::keeper::network {

struct PeerClientOptions {
  std::chrono::milliseconds timeout{2'000};  // per peer, the whole exchange
  std::size_t max_response_bytes = std::size_t{16} * 1024;
};

struct PushResult {
  chain::Address peer{};
  bool reached = false;  // an HTTP answer came back
  int status = 0;        // its status (202 = accepted)
  std::string error;     // empty if 202; else one line ("HTTP 409: diverges ...", "timeout ...")
};

class PeerClient {
 public:
  // `book` (may be null) gets note_push_result for every push.
  PeerClient(OracleDomain domain, std::vector<PeerSpec> peers, SignatureBook* book = nullptr,
             PeerClientOptions options = {});

  // POSTs `mine` to every peer in parallel; returns when each answered or ran out of time (so
  // within about options.timeout), one result per peer in the configured order.
  std::vector<PushResult> push(const PeerReport& mine, std::int64_t now_s);

  // GET /peer/v1/reports?portfolio=&round= from `peer`: its signed report, decoded strictly,
  // whose signer must be peer.signer. Feed it to SignatureBook::add_peer like a pushed one.
  [[nodiscard]] chain::Expected<PeerReport, std::string> pull(const PeerSpec& peer,
                                                              std::uint64_t pid,
                                                              std::uint64_t round) const;

 private:
  OracleDomain domain_;
  std::vector<PeerSpec> peers_;
  SignatureBook* book_;
  PeerClientOptions options_;
};

}  // namespace varkeeper::keeper::network
