#!/usr/bin/env python3
"""Writes config/data/depeg_usd_daily.csv: the daily closes of the depeg scenario's asset
(config/scenarios/depeg.toml) over a long enough history for a 500-day rolling backtest.

The model follows the scenario's: a stablecoin with daily noise of the scenario's volatility
(0.1 %) times the scenario's level, which steps from 1.00 to 0.90 on the depeg day and stays there
(the scenario's six-hour slide falls inside one daily close). The simulator's log price is a
random walk, which over the scenario's 90 days stays near the peg but over years would wander
(about 3.5 % in 1200 days); here it is pulled back to the level every day, an AR(1) in the log
price, x_t = 0.9 x_{t-1} + 0.001 z_t (stationary spread 0.23 %), as a peg arbitrage keeps it. Here: 1500 days from 2020-01-01, depeg on day 1200 (2023-04-15), so a
500-day window sees 700 pegged days before it and 300 depegged days follow. The noise is a
fixed-seed normal (SplitMix64 and Box-Muller written out, as tests/risk/pegged_series.hpp, so the
file is the same on every machine).

    python3 scripts/depeg_series.py > config/data/depeg_usd_daily.csv
"""
import datetime
import math

DAYS = 1500
DEPEG_DAY = 1200
DAILY_VOL = 0.001  # depeg.toml: daily_vol
LEVEL_AFTER = 0.90  # depeg.toml: [[events]] level
SEED = 7  # depeg.toml: seed
PULL = 0.9  # AR(1) coefficient of the log price around the level
MASK = (1 << 64) - 1


def uniforms(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        yield ((z >> 11) + 0.5) * 2.0**-53  # in (0, 1)


def normals(seed):
    u = uniforms(seed)
    while True:
        u1, u2 = next(u), next(u)
        radius = math.sqrt(-2.0 * math.log(u1))
        yield radius * math.cos(2.0 * math.pi * u2)
        yield radius * math.sin(2.0 * math.pi * u2)


def main():
    z = normals(SEED)
    start = datetime.date(2020, 1, 1)
    log_x = 0.0
    print("date,close")
    for d in range(DAYS):
        if d > 0:
            log_x = PULL * log_x + DAILY_VOL * next(z)
        level = LEVEL_AFTER if d >= DEPEG_DAY else 1.0
        day = start + datetime.timedelta(days=d)
        print(f"{day.isoformat()},{math.exp(log_x) * level:.8f}")


if __name__ == "__main__":
    main()
