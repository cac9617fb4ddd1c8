// The one constant-product AMM (risk/constant_product_amm.hpp) of the feedback-loop study and the
// simulator: Uniswap v2's getAmountOut, the x * y = k invariant and the price-impact caps.
#include "risk/constant_product_amm.hpp"

#include <doctest/doctest.h>

#include <initializer_list>

using namespace varkeeper::risk;

TEST_CASE("AMM output follows Uniswap v2 getAmountOut with the 0.3 % fee") {
  // UniswapV2Library.getAmountOut: amountIn * 997 * reserveOut / (reserveIn * 1000 + amountIn *
  // 997); for 30 bps the arithmetic is the same, operation for operation.
  CHECK(amm_amount_out(10.0, 1000.0, 1000.0) ==
        10.0 * 997.0 * 1000.0 / (1000.0 * 1000.0 + 10.0 * 997.0));
  CHECK(amm_amount_out(1.0, 100.0, 200'000.0) ==
        doctest::Approx(997.0 * 200'000.0 / (100'000.0 + 997.0)).epsilon(1e-15));
  // Without fee: the constant-product output dy = y dx / (x + dx).
  CHECK(amm_amount_out(50.0, 1000.0, 3000.0, 0) ==
        doctest::Approx(3000.0 * 50.0 / 1050.0).epsilon(1e-15));
  CHECK(amm_amount_out(0.0, 1000.0, 1000.0) == 0.0);
  CHECK(amm_amount_out(-1.0, 1000.0, 1000.0) == 0.0);
  CHECK(amm_amount_out(1.0, 0.0, 1000.0) == 0.0);
  // The fee stays in the pool: x * y grows.
  const double dy = amm_amount_out(100.0, 1000.0, 1000.0);
  CHECK((1000.0 + 100.0) * (1000.0 - dy) > 1000.0 * 1000.0);
}

TEST_CASE("moving the AMM to a price keeps the product of the reserves and sets their ratio") {
  ConstantProductAmm amm{10'000.0, 20'000'000.0};
  CHECK(amm.price() == 2000.0);
  amm.move_to(1800.0);
  CHECK(amm.price() == doctest::Approx(1800.0).epsilon(1e-14));
  CHECK(amm.risky * amm.stable == doctest::Approx(2e11).epsilon(1e-14));
  CHECK(amm.risky > 10'000.0);  // a lower price: more risky in the pool
}

TEST_CASE("a sale and a purchase move the reserves by what goes in and comes out") {
  ConstantProductAmm amm{1000.0, 1000.0};
  const double out = amm.sell_risky(100.0);
  CHECK(out == amm_amount_out(100.0, 1000.0, 1000.0));
  CHECK(amm.risky == 1100.0);
  CHECK(amm.stable == 1000.0 - out);
  const double back = amm.buy_risky(out);
  CHECK(back < 100.0);  // two fees: less risky comes back than was sold
  CHECK(amm.stable == doctest::Approx(1000.0).epsilon(1e-15));
}

TEST_CASE("the largest sale and purchase move the price by the impact cap, fee ignored") {
  for (const double impact : {0.005, 0.02, 0.10}) {
    CAPTURE(impact);
    ConstantProductAmm amm{10'000.0, 20'000'000.0};
    const double p0 = amm.price();
    // Fee-less, a sale of dq gives (x / (x + dq))^2 = 1 - impact exactly at the cap.
    const double dq = amm.max_sale(impact);
    const double x1 = amm.risky + dq;
    CHECK((amm.risky / x1) * (amm.risky / x1) == doctest::Approx(1.0 - impact).epsilon(1e-12));
    // With the fee less stable leaves the pool, so the price falls by less than the cap.
    ConstantProductAmm sold = amm;
    sold.sell_risky(dq);
    CHECK(sold.price() / p0 >= 1.0 - impact);
    CHECK(sold.price() / p0 < 1.0 - 0.9 * impact);
    // A purchase of dy raises the price by at most the cap: ((y + dy) / y)^2 = 1 + impact.
    const double dy = amm.max_purchase(impact);
    const double y1 = amm.stable + dy;
    CHECK((y1 / amm.stable) * (y1 / amm.stable) == doctest::Approx(1.0 + impact).epsilon(1e-12));
    ConstantProductAmm bought = amm;
    bought.buy_risky(dy);
    CHECK(bought.price() / p0 <= 1.0 + impact);
    CHECK(bought.price() / p0 > 1.0 + 0.9 * impact);
  }
}
