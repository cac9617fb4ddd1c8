#include "keeper/core/contract_errors.hpp"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <string_view>

#include "chain/address.hpp"
#include "chain/hex.hpp"

namespace varkeeper::keeper {
namespace {

using chain::U256;

// The decoded arguments of one error, read by position in the units its form names.
class Args {
 public:
  explicit Args(const std::vector<chain::AbiValue>& values) : values_(values) {}

  [[nodiscard]] U256 uint(std::size_t i) const {
    const auto* v = i < values_.size() ? values_[i].as_uint() : nullptr;
    return v != nullptr ? *v : U256(0);
  }
  [[nodiscard]] std::string num(std::size_t i) const { return chain::u256_to_decimal(uint(i)); }
  [[nodiscard]] std::string pct(std::size_t i) const { return wad_percent(uint(i)); }
  [[nodiscard]] std::string time(std::size_t i) const { return utc_time(uint(i)); }
  [[nodiscard]] std::string span(std::size_t i) const { return duration(uint(i)); }
  [[nodiscard]] std::string round(std::size_t i) const { return round_id(uint(i)); }
  [[nodiscard]] std::string usd(std::size_t i) const {
    const auto* v = i < values_.size() ? values_[i].as_int() : nullptr;
    return v != nullptr ? usd8(*v) : usd8({});
  }
  [[nodiscard]] std::string addr(std::size_t i) const {
    const auto* v = i < values_.size() ? values_[i].as_address() : nullptr;
    return v != nullptr ? chain::to_checksum_address(*v) : "?";
  }
  [[nodiscard]] std::string hex(std::size_t i) const {
    const auto* v = i < values_.size() ? values_[i].as_bytes() : nullptr;
    return v != nullptr ? chain::to_hex(*v) : "?";
  }
  [[nodiscard]] std::string text(std::size_t i) const {
    const auto* v = i < values_.size() ? values_[i].as_string() : nullptr;
    return v != nullptr ? *v : "?";
  }
  // A token amount in its base unit (the decoder does not know the token's decimals).
  [[nodiscard]] std::string units(std::size_t i) const { return grouped(num(i)); }

  static std::string grouped(const std::string& digits) {
    std::string out;
    const std::size_t n = digits.size();
    for (std::size_t k = 0; k < n; ++k) {
      if (k > 0 && (n - k) % 3 == 0) {
        out += ',';
      }
      out += digits[k];
    }
    return out;
  }

 private:
  const std::vector<chain::AbiValue>& values_;
};

using Form = std::function<std::string(const Args&)>;

struct Entry {
  const char* signature;
  Form form;
};

// Every custom error of the bundled contracts (RiskOracle, RiskOracleFeed, VaRProtection,
// ProtectionToken, RiskRebalancer, MockAggregator, MockERC20, MockConstantProductAMM and the
// OpenZeppelin code they inherit), with its meaning from contracts/src/*.sol. A signature that
// two contracts share (ZeroAddress(), StaleReport(uint64), InvalidPrice(int256), the ERC-20
// errors) means the same in each.
const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = {
      // --- RiskOracle ------------------------------------------------------------------------
      {"ZeroAddress()", [](const Args&) { return "the zero address is not allowed"; }},
      {"AlreadySigner(address)", [](const Args& a) { return a.addr(0) + " is already a signer"; }},
      {"NotSigner(address)", [](const Args& a) { return a.addr(0) + " is not a signer"; }},
      {"TooManySigners()", [](const Args&) { return "the signer set is full"; }},
      {"InvalidQuorum(uint256,uint256)",
       [](const Args& a) {
         return "quorum " + a.num(0) + " is not possible with " + a.num(1) + " signers";
       }},
      {"InvalidLimits()", [](const Args&) { return "the portfolio limits are not valid"; }},
      {"QuorumNotSet()", [](const Args&) { return "no quorum is set yet"; }},
      {"SetupClosed()",
       [](const Args&) { return "set-up is closed: changes go through the timelock"; }},
      {"InvalidDelay(uint256)",
       [](const Args& a) {
         return "timelock delay " + a.span(0) + " is outside the allowed range";
       }},
      {"UnsupportedChange(bytes4)",
       [](const Args& a) { return "function " + a.hex(0) + " cannot be queued as a change"; }},
      {"ChangeAlreadyQueued(bytes32)",
       [](const Args& a) { return "change " + a.hex(0) + " is already queued"; }},
      {"ChangeNotQueued(bytes32)",
       [](const Args& a) { return "change " + a.hex(0) + " is not queued"; }},
      {"ChangeNotReady(bytes32,uint256)",
       [](const Args& a) { return "change " + a.hex(0) + " can be executed from " + a.time(1); }},
      {"LengthMismatch()",
       [](const Args&) { return "the batch has not one signature list per report"; }},
      {"EmptyBatch()", [](const Args&) { return "the batch holds no report"; }},
      {"UnknownPortfolio(uint64)",
       [](const Args& a) { return "portfolio " + a.num(0) + " has no limits on the oracle"; }},
      {"InvalidConfidence(uint64)",
       [](const Args& a) { return "confidence " + a.pct(0) + " is not between 0 % and 100 %"; }},
      {"InvalidHorizon()", [](const Args&) { return "the horizon is 0"; }},
      {"InvalidBreakerStatus(uint8)",
       [](const Args& a) {
         return "breaker status " + a.num(0) + " is none of normal (0), tripped (1), cooldown (2)";
       }},
      {"InvalidFigures(uint64,uint64)",
       [](const Args& a) {
         return "VaR " + a.pct(0) + " and CVaR " + a.pct(1) +
                ": VaR must not exceed CVaR, nor CVaR 100 %";
       }},
      {"FutureReport(uint64,uint256)",
       [](const Args& a) {
         return "observed " + a.time(0) + ", after the block's time " + a.time(1);
       }},
      {"StaleReport(uint64,uint256,uint32)",
       [](const Args& a) {
         return "observed " + a.time(0) + ", older than " + a.span(2) + " at the block's time " +
                a.time(1);
       }},
      {"RoundNotIncreasing(uint64,uint64)",
       [](const Args& a) {
         return "round " + a.num(0) + " is not after the latest round " + a.num(1);
       }},
      {"RoundJumpTooLarge(uint64,uint64)",
       [](const Args& a) {
         return "round " + a.num(0) + " jumps too far past the latest round " + a.num(1);
       }},
      {"TooSoon(uint64,uint256)",
       [](const Args& a) { return "observed " + a.time(0) + ", earliest accepted " + a.time(1); }},
      {"VaRChangeTooLarge(uint64,uint64)",
       [](const Args& a) {
         return "VaR " + a.pct(0) + " → " + a.pct(1) + " exceeds the change limit";
       }},
      {"CVaRChangeTooLarge(uint64,uint64)",
       [](const Args& a) {
         return "CVaR " + a.pct(0) + " → " + a.pct(1) + " exceeds the change limit";
       }},
      {"InsufficientSignatures(uint256,uint256)",
       [](const Args& a) { return a.num(0) + " signatures, the quorum is " + a.num(1); }},
      {"MalleableSignature()",
       [](const Args&) { return "a signature's s is in the upper half of the curve order"; }},
      {"InvalidSignature()", [](const Args&) { return "a signature recovers no signer"; }},
      {"UnauthorizedSigner(address)",
       [](const Args& a) { return a.addr(0) + " is not one of the oracle's signers"; }},
      {"DuplicateSigner(address)",
       [](const Args& a) { return a.addr(0) + " signed the report twice"; }},
      {"NoReport(uint64)",
       [](const Args& a) { return "portfolio " + a.num(0) + " has no report yet"; }},
      // OpenZeppelin ShortStrings (EIP-712 name/version) and Ownable.
      {"InvalidShortString()", [](const Args&) { return "a short string is malformed"; }},
      {"StringTooLong(string)",
       [](const Args& a) { return "\"" + a.text(0) + "\" is longer than 31 bytes"; }},
      {"OwnableInvalidOwner(address)",
       [](const Args& a) { return a.addr(0) + " cannot be the owner"; }},
      {"OwnableUnauthorizedAccount(address)",
       [](const Args& a) { return a.addr(0) + " is not the owner"; }},
      // --- RiskOracleFeed, MockAggregator ------------------------------------------------------
      {"NoDataPresent(uint80)", [](const Args& a) { return "no data for round " + a.round(0); }},
      // --- RiskRebalancer ----------------------------------------------------------------------
      {"InvalidPolicy()", [](const Args&) { return "the rebalance policy is not valid"; }},
      {"PolicyNotSet()", [](const Args&) { return "no rebalance policy is set"; }},
      {"UnknownToken(address)",
       [](const Args& a) { return a.addr(0) + " is neither the stable nor the risky token"; }},
      {"InsideBand(uint64,uint64,uint64)",
       [](const Args& a) { return "VaR " + a.pct(0) + " inside " + a.pct(1) + "–" + a.pct(2); }},
      {"StaleReport(uint64)",
       [](const Args& a) { return "the oracle's report observed " + a.time(0) + " is too old"; }},
      {"StalePrice(uint256)",
       [](const Args& a) { return "the price feed was last updated " + a.time(0); }},
      {"InvalidPrice(int256)",
       [](const Args& a) { return "the feed's answer " + a.usd(0) + " is not a usable price"; }},
      {"AlreadyAtTarget(uint256,uint256)",
       [](const Args& a) {
         return "risky weight " + a.pct(0) + " is already at its target " + a.pct(1) +
                " (within tolerance)";
       }},
      {"SlippageExceeded(uint256,uint256)",
       [](const Args& a) {
         return "received " + a.units(0) + ", minimum " + a.units(1) + " (token base units)";
       }},
      {"NotKeeper(address)", [](const Args& a) { return a.addr(0) + " is not the keeper"; }},
      {"BreakerTripped(uint8)",
       [](const Args& a) { return "the breaker is tripped (status " + a.num(0) + ")"; }},
      {"CoolingDown(uint256)",
       [](const Args& a) { return "the next rebalance is possible from " + a.time(0); }},
      {"SafeERC20FailedOperation(address)",
       [](const Args& a) { return "a transfer of token " + a.addr(0) + " failed"; }},
      // --- VaRProtection, ProtectionToken ------------------------------------------------------
      {"ZeroAmount()", [](const Args&) { return "the amount is 0"; }},
      {"ZeroShares()", [](const Args&) { return "the deposit would mint 0 shares"; }},
      {"InvalidParameters()", [](const Args&) { return "the pool's parameters are not valid"; }},
      {"EpochIsActive()", [](const Args&) { return "an epoch is running"; }},
      {"NoActiveEpoch()", [](const Args&) { return "no epoch is running"; }},
      {"SaleClosed(uint256)", [](const Args& a) { return "the sale closed " + a.time(0); }},
      {"PremiumTooHigh(uint256,uint256)",
       [](const Args& a) {
         return "premium " + a.units(0) + " above the buyer's maximum " + a.units(1) +
                " (collateral base units)";
       }},
      {"InsufficientCapacity(uint256,uint256)",
       [](const Args& a) {
         return "obligation " + a.units(0) + " above the pool's assets " + a.units(1) +
                " (collateral base units)";
       }},
      {"PoolLocked(uint256)",
       [](const Args& a) {
         return "epoch " + a.num(0) + " is running: deposits and redemptions are queued";
       }},
      {"SaleNotOver(uint256)", [](const Args& a) { return "the sale closes " + a.time(0); }},
      {"NoPriceAfterSale(uint256)",
       [](const Args& a) { return "no feed round after the sale's close " + a.time(0) + " yet"; }},
      {"CoverageAlreadyStarted()", [](const Args&) { return "coverage has started already"; }},
      {"CoverageNotStarted()", [](const Args&) { return "coverage has not started"; }},
      {"WrongStartRound(uint80)",
       [](const Args& a) { return "round " + a.round(0) + " is not the first after the sale"; }},
      {"NoStartPrice(uint256,uint256)",
       [](const Args& a) {
         return "no start price: sale closed " + a.time(0) + ", deadline " + a.time(1);
       }},
      {"StartAvailable(uint80)",
       [](const Args& a) { return "round " + a.round(0) + " can start the coverage; no refund"; }},
      {"EpochNotOver(uint256)", [](const Args& a) { return "the epoch ends " + a.time(0); }},
      {"WrongSettlementRound(uint80)",
       [](const Args& a) {
         return "round " + a.round(0) + " is not the first after the epoch's end";
       }},
      {"NoPriceAfterEnd(uint256)",
       [](const Args& a) { return "no feed round after the epoch's end " + a.time(0) + " yet"; }},
      {"SettlementRoundNotFound()", [](const Args&) { return "no feed round settles the epoch"; }},
      {"NotSettled(uint256)",
       [](const Args& a) { return "epoch " + a.num(0) + " is not settled"; }},
      {"NothingToClaim(uint256)",
       [](const Args& a) { return "nothing to claim in epoch " + a.num(0); }},
      {"HorizonTooShort(uint256,uint256)",
       [](const Args& a) {
         return "horizon " + a.span(0) + " is under twice the sale window " + a.span(1);
       }},
      {"HorizonTooLong(uint256,uint256)",
       [](const Args& a) { return "horizon " + a.span(0) + " is over the maximum " + a.span(1); }},
      {"CollateralShortfall(uint256,uint256)",
       [](const Args& a) {
         return "expected " + a.units(0) + ", received " + a.units(1) +
                " (collateral base units; a fee-on-transfer token?)";
       }},
      {"NoSettlementPrice(uint256,uint256)",
       [](const Args& a) {
         return "no settlement price: epoch ended " + a.time(0) + ", grace period ends " +
                a.time(1);
       }},
      {"SettlementAvailable(uint80)",
       [](const Args& a) { return "round " + a.round(0) + " can settle the epoch; no refund"; }},
      {"GracePeriodNotOver(uint256)",
       [](const Args& a) { return "the grace period ends " + a.time(0); }},
      {"InsufficientBalance(uint256,uint256)",
       [](const Args& a) {
         return "balance " + a.units(0) + ", needed " + a.units(1) + " (base units)";
       }},
      {"ReentrancyGuardReentrantCall()", [](const Args&) { return "a reentrant call"; }},
      {"FailedDeployment()", [](const Args&) { return "the token clone was not deployed"; }},
      {"CloneArgumentsTooLong()", [](const Args&) { return "the clone's arguments are too long"; }},
      {"OnlyPool()", [](const Args&) { return "only the protection pool may mint or burn"; }},
      // --- ERC-20 (OpenZeppelin draft-IERC6093), MockConstantProductAMM -------------------------
      {"ERC20InsufficientAllowance(address,uint256,uint256)",
       [](const Args& a) {
         return a.addr(0) + " may spend " + a.units(1) + ", needs " + a.units(2) +
                " (token base units)";
       }},
      {"ERC20InsufficientBalance(address,uint256,uint256)",
       [](const Args& a) {
         return a.addr(0) + " holds " + a.units(1) + ", needs " + a.units(2) +
                " (token base units)";
       }},
      {"ERC20InvalidApprover(address)",
       [](const Args& a) { return a.addr(0) + " cannot approve"; }},
      {"ERC20InvalidReceiver(address)",
       [](const Args& a) { return a.addr(0) + " cannot receive tokens"; }},
      {"ERC20InvalidSender(address)",
       [](const Args& a) { return a.addr(0) + " cannot send tokens"; }},
      {"ERC20InvalidSpender(address)",
       [](const Args& a) { return a.addr(0) + " cannot be a spender"; }},
      {"InsufficientOutput(uint256,uint256)",
       [](const Args& a) {
         return "the swap gives " + a.units(0) + ", minimum " + a.units(1) + " (token base units)";
       }},
      {"InvalidFee(uint256)",
       [](const Args& a) { return "fee " + a.num(0) + " bps is not allowed"; }},
      {"UnknownPair(address,address)",
       [](const Args& a) { return "no pool for " + a.addr(0) + " → " + a.addr(1); }},
  };
  return table;
}

struct Index {
  std::map<std::string, const Form*, std::less<>> forms;
  std::vector<chain::AbiSignature> signatures;
};

const Index& index() {
  static const Index idx = [] {
    Index i;
    for (const auto& e : entries()) {
      auto sig = chain::parse_abi_signature(e.signature);
      if (!sig) {
        continue;  // a typo in the table: the test of every signature finds it
      }
      i.forms[sig->canonical()] = &e.form;
      i.signatures.push_back(std::move(*sig));
    }
    return i;
  }();
  return idx;
}

std::string two_decimals(const U256& hundredths) {
  std::string whole = chain::u256_to_decimal(hundredths / 100);
  const auto frac = static_cast<unsigned>(hundredths % 100);
  if (frac == 0) {
    return whole;
  }
  std::string out = whole + '.' + static_cast<char>('0' + frac / 10);
  if (frac % 10 != 0) {
    out += static_cast<char>('0' + frac % 10);
  }
  return out;
}

}  // namespace

std::span<const chain::AbiSignature> human_error_signatures() { return index().signatures; }

std::optional<std::string> human_error(const chain::RevertReason& reason) {
  if (reason.kind != chain::RevertKind::kCustom) {
    return std::nullopt;
  }
  const auto& forms = index().forms;
  const auto it = forms.find(reason.error_signature);
  if (it == forms.end()) {
    return std::nullopt;
  }
  const std::string name = reason.error_signature.substr(0, reason.error_signature.find('('));
  return name + ": " + (*it->second)(Args(reason.args));
}

std::string describe_revert(chain::ByteView data, std::span<const chain::AbiSignature> extra) {
  std::vector<chain::AbiSignature> all(human_error_signatures().begin(),
                                       human_error_signatures().end());
  all.insert(all.end(), extra.begin(), extra.end());
  const auto reason = chain::decode_revert(data, all);
  if (!reason) {
    return "undecodable revert data " + chain::to_hex(data);
  }
  if (auto human = human_error(*reason)) {
    return *human;
  }
  return chain::describe(*reason);
}

std::string wad_percent(const U256& wad) {
  // 1e18 = 100 %, so 1e14 is a hundredth of a percent.
  const U256 unit = U256(100'000'000'000'000ULL);
  const U256 hundredths = (wad + unit / 2) / unit;
  if (hundredths == 0 && wad != 0) {
    const double pct = static_cast<double>(wad) / 1e16;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2g %%", pct);
    return buf;
  }
  return two_decimals(hundredths) + " %";
}

std::string utc_time(const U256& seconds) {
  if (seconds == 0) {
    return "never";
  }
  // 253402300799 = 9999-12-31 23:59:59 UTC.
  if (seconds > U256(253'402'300'799ULL)) {
    return chain::u256_to_decimal(seconds) + " s";
  }
  const auto t = static_cast<std::time_t>(static_cast<std::uint64_t>(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string usd8(const chain::AbiInt& answer) {
  // Cents, rounded half away from zero.
  const U256 cents = (answer.magnitude + 500'000) / 1'000'000;
  const std::string dollars = Args::grouped(chain::u256_to_decimal(cents / 100));
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%02u", static_cast<unsigned>(cents % 100));
  return std::string(answer.negative && answer.magnitude != 0 ? "-$" : "$") + dollars + frac;
}

std::string duration(const U256& seconds) {
  if (seconds >= U256(100ULL * 365 * 86400)) {
    return chain::u256_to_decimal(seconds) + " s";
  }
  const auto s = static_cast<std::uint64_t>(seconds);
  const std::uint64_t d = s / 86400;
  const std::uint64_t h = s % 86400 / 3600;
  const std::uint64_t m = s % 3600 / 60;
  const std::uint64_t sec = s % 60;
  std::string out;
  const auto part = [&out](std::uint64_t v, const char* unit) {
    if (v == 0) {
      return;
    }
    out += (out.empty() ? "" : " ") + std::to_string(v) + ' ' + unit;
  };
  part(d, "d");
  part(h, "h");
  if (d == 0) {
    part(m, "min");
    if (h == 0) {
      part(sec, "s");
    }
  }
  return out.empty() ? "0 s" : out;
}

std::string round_id(const U256& id) {
  std::string n = chain::u256_to_decimal(id);
  const U256 phase = id >> 64;
  if (phase == 0) {
    return n;
  }
  const U256 agg = id & U256(0xFFFF'FFFF'FFFF'FFFFULL);
  return n + " (phase " + chain::u256_to_decimal(phase) + ", round " + chain::u256_to_decimal(agg) +
         ")";
}

}  // namespace varkeeper::keeper
