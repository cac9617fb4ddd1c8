// The soak's fault proxies (bench/soak/README.md): N instances of the integration tests' fault
// proxy (tests/support/fault_proxy.hpp) in front of one upstream node, driven over stdin so a
// script can inject the proxy's named faults at random.
//
//   soak_proxy UPSTREAM_URL N
//
// prints one line per proxy, "port P", then "ready", then reads commands, one per line:
//   fault I NAME        every request of proxy I gets fault NAME ("none" clears it)
//   delay I MS          the delay of the `delay` fault
//   decoy I HASH        the transaction whose receipt `wrong_receipt` answers with
//   stats               one line per proxy and fault: "stat I NAME COUNT", then "end"
// and answers each command with "ok" or "error: ...".
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fault_proxy.hpp"

namespace {

using varkeeper::test::Fault;
using varkeeper::test::fault_name;
using varkeeper::test::FaultProxy;

// Every fault the proxy library knows, in enum order (its names end at "unknown").
std::vector<Fault> known_faults() {
  std::vector<Fault> all;
  for (int i = 0; i < 256; ++i) {
    const auto f = static_cast<Fault>(i);
    if (fault_name(f) == "unknown") {
      break;
    }
    all.push_back(f);
  }
  return all;
}

std::optional<Fault> fault_by_name(const std::string& name) {
  for (const Fault f : known_faults()) {
    if (fault_name(f) == name) {
      return f;
    }
  }
  return std::nullopt;
}

std::string run(const std::string& line, std::vector<std::unique_ptr<FaultProxy>>& proxies) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "stats") {
    std::ostringstream out;
    for (std::size_t i = 0; i < proxies.size(); ++i) {
      out << "stat " << i << " requests " << proxies[i]->requests() << "\n";
      for (const Fault f : known_faults()) {
        out << "stat " << i << " " << fault_name(f) << " " << proxies[i]->injected(f) << "\n";
      }
    }
    return out.str() + "end";
  }
  std::size_t index = 0;
  std::string arg;
  if (!(in >> index >> arg) || index >= proxies.size()) {
    return "error: expected '" + cmd + " INDEX ARG' with INDEX < " + std::to_string(proxies.size());
  }
  FaultProxy& p = *proxies[index];
  if (cmd == "fault") {
    const auto f = fault_by_name(arg);
    if (!f) {
      return "error: unknown fault " + arg;
    }
    p.set_fault(*f);
  } else if (cmd == "delay") {
    p.set_delay_ms(std::atoi(arg.c_str()));
  } else if (cmd == "decoy") {
    p.set_receipt_decoy(arg);
  } else {
    return "error: unknown command " + cmd;
  }
  return "ok";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: soak_proxy UPSTREAM_URL N\n";
    return 2;
  }
  const int n = std::atoi(argv[2]);
  if (n < 1 || n > 16) {
    std::cerr << "soak_proxy: N must be 1..16\n";
    return 2;
  }
  std::vector<std::unique_ptr<FaultProxy>> proxies;
  for (int i = 0; i < n; ++i) {
    proxies.push_back(std::make_unique<FaultProxy>(argv[1]));
    std::cout << "port " << proxies.back()->port() << std::endl;
  }
  std::cout << "ready" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    std::cout << run(line, proxies) << std::endl;
  }
  // stdin closed: the soak is over. Exit without joining the proxies' connection threads.
  std::cout.flush();
  std::_Exit(0);
}
