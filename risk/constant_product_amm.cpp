#include "risk/constant_product_amm.hpp"

#include <cmath>

namespace varkeeper::risk {

double amm_amount_out(double amount_in, double reserve_in, double reserve_out,
                      int fee_bps) noexcept {
  if (!(amount_in > 0.0) || !(reserve_in > 0.0) || !(reserve_out > 0.0)) {
    return 0.0;
  }
  // In thousandths as UniswapV2Library writes it (997 / 1000 for 30 bps).
  const double with_fee = amount_in * (1000.0 - static_cast<double>(fee_bps) / 10.0);
  return with_fee * reserve_out / (reserve_in * 1000.0 + with_fee);
}

void ConstantProductAmm::move_to(double p) noexcept {
  const double k = risky * stable;
  risky = std::sqrt(k / p);
  stable = std::sqrt(k * p);
}

double ConstantProductAmm::sell_risky(double dq) noexcept {
  const double dy = amm_amount_out(dq, risky, stable);
  risky += dq;
  stable -= dy;
  return dy;
}

double ConstantProductAmm::buy_risky(double dy) noexcept {
  const double dq = amm_amount_out(dy, stable, risky);
  stable += dy;
  risky -= dq;
  return dq;
}

double ConstantProductAmm::max_sale(double impact) const noexcept {
  return risky * (1.0 / std::sqrt(1.0 - impact) - 1.0);
}

double ConstantProductAmm::max_purchase(double impact) const noexcept {
  return stable * (std::sqrt(1.0 + impact) - 1.0);
}

}  // namespace varkeeper::risk
