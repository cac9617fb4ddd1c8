#include "keeper/devchain/anvil_node.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include "keeper/install/install_paths.hpp"

namespace varkeeper::keeper {

namespace {
bool can_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw std::runtime_error("cannot open a socket to find a free port");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback socket to find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string find_anvil() {
  if (const char* env = std::getenv("VARKEEPER_ANVIL"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const auto shipped = bundled("tools/anvil")) {
    return shipped->string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto dir = rest.substr(0, colon);
      const auto candidate = std::filesystem::path(std::string(dir)) / "anvil";
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
        return candidate.string();
      }
      if (colon == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(colon + 1);
    }
  }
  throw std::runtime_error(
      "anvil not found: run scripts/setup.sh (installs it under node_modules/.bin) or set "
      "VARKEEPER_ANVIL");
}

AnvilNode::AnvilNode(AnvilOptions options) {
  const std::string binary = options.binary.empty() ? find_anvil() : options.binary;
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("anvil binary " + binary + " is missing or not executable");
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_loopback_port();
    std::vector<std::string> args{binary,
                                  "--host",
                                  "127.0.0.1",
                                  "--port",
                                  std::to_string(port_),
                                  "--chain-id",
                                  std::to_string(options.chain_id)};
    if (options.block_time_seconds > 0) {
      args.insert(args.end(), {"--block-time", std::to_string(options.block_time_seconds)});
    }
    if (options.no_mining) {
      args.emplace_back("--no-mining");
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed while starting anvil");
    }
    if (pid_ == 0) {
      // The node must not outlive us, even if we are killed with SIGKILL.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        _exit(1);
      }
      // Its own process group: Ctrl-C on the terminal reaches varkeeper, which finishes its tick
      // and then stops the node, instead of the node dying under a tick in progress.
      ::setpgid(0, 0);
      const int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);  // and the terminating nullptr
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (can_connect(port_)) {
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // exited (port taken?): try another port
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
  }
  throw std::runtime_error("anvil did not start on a loopback port (tried 3 ports)");
}

AnvilNode::~AnvilNode() { stop(); }

void AnvilNode::stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void AnvilNode::kill_now() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string AnvilNode::http_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string AnvilNode::ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

}  // namespace varkeeper::keeper
