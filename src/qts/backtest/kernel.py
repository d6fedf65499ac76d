"""Array kernels of the vectorized engine: target rebalancing and the trade ledger.

The kernels are plain Python over numpy arrays, compiled with numba when it is installed (the
same source either way; `python_kernels()` returns the uncompiled versions so tests can check
they agree). They implement the market-order / target subset of `qts.backtest.fills.OrderBook`
with the same arithmetic as `Sizer` and `CostModel`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from qts.backtest.costs import order_fee
from qts.backtest.sizing import max_affordable, round_to_unit

try:  # numba pays off (tens of x) on the per-bar loop; without it the same code runs as Python.
    import numba

    HAS_NUMBA = True

    def _jit(func: Callable[..., Any]) -> Any:
        return numba.njit(cache=True, nogil=True)(func)

except ImportError:  # pragma: no cover - exercised where numba is not installed
    HAS_NUMBA = False

    def _jit(func: Callable[..., Any]) -> Any:
        return func


# The cost and sizing arithmetic itself, compiled: the kernel, `CostModel` and `Sizer` share
# one source.
_fee = _jit(order_fee)
_round_unit = _jit(round_to_unit)
_max_affordable = _jit(max_affordable)


def cost_cell(values: np.ndarray, i: int, s: int) -> float:
    """A cost of symbol s at bar i from an array broadcast like numpy's: (1 or n, 1 or k)."""
    return values[i if values.shape[0] > 1 else 0, s if values.shape[1] > 1 else 0]


_cost = _jit(cost_cell)


def rebalance_kernel(
    price: np.ndarray,  # (n, k) execution reference price per bar (open or close); NaN = no bar
    mark: np.ndarray,  # (n, k) forward-filled close for marking; NaN before the first bar
    want: np.ndarray,  # (n, k) target fraction to execute at bar i
    flag: np.ndarray,  # (n, k) bool: a new target arrives for execution at bar i
    slip: np.ndarray,  # (n, k) slippage fraction for an execution at bar i
    unit: np.ndarray,  # (k,) lot size or quantity step
    cash0: float,
    # Costs per bar and symbol, each (1 or n, 1 or k) (`cost_cell`): a single-market run
    # passes one value, or one column for the dated sell tax; amounts in the run's currency.
    commission: np.ndarray,
    fixed_fee: np.ndarray,
    min_fee: np.ndarray,
    sell_tax: np.ndarray,  # the sell tax rate in force at bar i (dated schedules)
    allow_short: bool,
    leverage: float,
    out_qty: np.ndarray,  # (n, k) position after bar i
    out_cash: np.ndarray,  # (n,) cash after bar i
    f_bar: np.ndarray,
    f_sym: np.ndarray,
    f_qty: np.ndarray,
    f_price: np.ndarray,
    f_fee: np.ndarray,
    ev_bar: np.ndarray,  # (m,) corporate actions, sorted by row: the row they take effect at
    ev_sym: np.ndarray,
    ev_ratio: np.ndarray,  # split: new shares per old (1.0 for a dividend)
    ev_cash: np.ndarray,  # dividend per share (0.0 for a split)
) -> int:
    n, k = price.shape
    qty = np.zeros(k)
    ev = 0
    ne = len(ev_bar)
    pending = np.zeros(k, dtype=np.bool_)
    pend_target = np.zeros(k)
    delta = np.zeros(k)
    cash = cash0
    nf = 0
    for i in range(n):
        if ev < ne and ev_bar[ev] == i:  # the broker's side of a split / dividend
            ev, cash = _apply_actions(i, ev, ev_bar, ev_sym, ev_ratio, ev_cash, qty, cash)
        any_pending = False
        for s in range(k):
            if flag[i, s]:
                pending[s] = True
                pend_target[s] = want[i, s]
            if pending[s] and not math.isnan(price[i, s]):
                any_pending = True
        if any_pending:
            equity = cash
            for s in range(k):
                if qty[s] != 0.0:
                    ref = price[i, s]
                    if math.isnan(ref):
                        ref = mark[i - 1, s] if i > 0 else 0.0
                    equity += qty[s] * ref
            for s in range(k):
                delta[s] = 0.0
                if pending[s] and not math.isnan(price[i, s]):
                    pending[s] = False
                    target = pend_target[s]
                    if not allow_short and target < 0.0:
                        target = 0.0
                    p = price[i, s]
                    wanted = 0.0
                    if p > 0.0 and equity > 0.0:
                        wanted = _round_unit(target * equity / p, unit[s])
                    delta[s] = wanted - qty[s]
            margin = (leverage - 1.0) * max(equity, 0.0)
            for side in range(2):  # sells first, then buys
                for s in range(k):
                    d = delta[s]
                    if (side == 0 and d >= 0.0) or (side == 1 and d <= 0.0):
                        continue
                    comm, fixed = _cost(commission, i, s), _cost(fixed_fee, i, s)
                    least = _cost(min_fee, i, s)
                    if side == 0:
                        pe = price[i, s] * (1.0 - slip[i, s])
                        q = -d
                        if not allow_short:
                            q = min(q, max(qty[s], 0.0))
                        fee = _fee(True, q, pe, comm, fixed, least, _cost(sell_tax, i, s))
                        if q <= 0.0 or cash + q * pe - fee < -margin:
                            continue
                        cash += q * pe - fee
                        qty[s] -= q
                        signed = -q
                    else:
                        pe = price[i, s] * (1.0 + slip[i, s])
                        q = min(
                            d,
                            _max_affordable(pe, cash + margin, unit[s], comm, fixed, least),
                        )
                        if q <= 0.0:
                            continue
                        fee = _fee(False, q, pe, comm, fixed, least, 0.0)
                        cash -= q * pe + fee
                        qty[s] += q
                        signed = q
                    if abs(qty[s]) <= 1e-12:
                        qty[s] = 0.0
                    f_bar[nf] = i
                    f_sym[nf] = s
                    f_qty[nf] = signed
                    f_price[nf] = pe
                    f_fee[nf] = fee
                    nf += 1
        for s in range(k):
            out_qty[i, s] = qty[s]
        out_cash[i] = cash
    return nf


def actions_kernel(
    i: int,
    ev: int,
    ev_bar: np.ndarray,
    ev_sym: np.ndarray,
    ev_ratio: np.ndarray,
    ev_cash: np.ndarray,
    qty: np.ndarray,
    cash: float,
) -> tuple[int, float]:
    """Corporate actions taking effect at row i, before its fills: a split multiplies the held
    quantity (cash unchanged), a dividend pays quantity x amount (a short position pays it)."""
    while ev < len(ev_bar) and ev_bar[ev] == i:
        s = ev_sym[ev]
        if qty[s] != 0.0:
            qty[s] *= ev_ratio[ev]
            cash += qty[s] * ev_cash[ev]
        ev += 1
    return ev, cash


_apply_actions = _jit(actions_kernel)


def ledger_actions_kernel(
    bar: int,
    ev: int,
    ev_bar: np.ndarray,
    ev_sym: np.ndarray,
    ev_ratio: np.ndarray,
    ev_cash: np.ndarray,
    pos: np.ndarray,
    avg: np.ndarray,
    exit_qty: np.ndarray,
    cur: np.ndarray,
    t_size: np.ndarray,
    t_entry_price: np.ndarray,
    t_pnl: np.ndarray,
) -> int:
    """Actions up to row `bar` applied to the open trades: a split rescales the trade's share
    count and prices (its value unchanged); a dividend adds to its pnl."""
    while ev < len(ev_bar) and ev_bar[ev] <= bar:
        s = ev_sym[ev]
        t = cur[s]
        if t >= 0 and pos[s] != 0.0:
            r = ev_ratio[ev]
            pos[s] *= r
            avg[s] /= r
            exit_qty[s] *= r
            t_size[t] *= r
            t_entry_price[t] = avg[s]
            t_pnl[t] += pos[s] * ev_cash[ev]
        ev += 1
    return ev


_ledger_actions = _jit(ledger_actions_kernel)


def new_trade_kernel(
    t: int,
    s: int,
    direction: int,
    bar: int,
    t_sym: np.ndarray,
    t_dir: np.ndarray,
    t_entry_bar: np.ndarray,
    t_exit_bar: np.ndarray,
    t_size: np.ndarray,
    t_entry_price: np.ndarray,
    t_exit_price: np.ndarray,
    t_pnl: np.ndarray,
    t_fees: np.ndarray,
) -> None:
    t_sym[t] = s
    t_dir[t] = direction
    t_entry_bar[t] = bar
    t_exit_bar[t] = -1
    t_size[t] = 0.0
    t_entry_price[t] = 0.0
    t_exit_price[t] = np.nan
    t_pnl[t] = 0.0
    t_fees[t] = 0.0


_new_trade = _jit(new_trade_kernel)


def ledger_kernel(
    f_bar: np.ndarray,
    f_sym: np.ndarray,
    f_qty: np.ndarray,
    f_price: np.ndarray,
    f_fee: np.ndarray,
    k: int,
    t_sym: np.ndarray,
    t_dir: np.ndarray,
    t_entry_bar: np.ndarray,
    t_exit_bar: np.ndarray,
    t_size: np.ndarray,
    t_entry_price: np.ndarray,
    t_exit_price: np.ndarray,
    t_pnl: np.ndarray,
    t_fees: np.ndarray,
    ev_bar: np.ndarray,
    ev_sym: np.ndarray,
    ev_ratio: np.ndarray,
    ev_cash: np.ndarray,
) -> int:
    """Round-trip trades from fills: a trade runs from flat (or a reversal) back to flat. Adds
    raise the size and average the entry price; partial exits realise pnl against the average
    entry. A still-open trade at the end has exit_bar = -1 and pnl without exit value. Corporate
    actions (`ev_*`, as in `rebalance_kernel`) rescale open trades and add their dividends."""
    pos = np.zeros(k)
    cur = np.full(k, -1)  # index of the open trade per symbol
    avg = np.zeros(k)
    exit_qty = np.zeros(k)
    exit_val = np.zeros(k)
    nt = 0
    ev, ne = 0, len(ev_bar)
    for j in range(len(f_bar)):
        if ev < ne and ev_bar[ev] <= f_bar[j]:
            ev = _ledger_actions(f_bar[j], ev, ev_bar, ev_sym, ev_ratio, ev_cash, pos, avg,
                                 exit_qty, cur, t_size, t_entry_price, t_pnl)  # fmt: skip
        s = f_sym[j]
        q = f_qty[j]
        p = f_price[j]
        fee = f_fee[j]
        remaining = q
        if pos[s] != 0.0 and (pos[s] > 0.0) != (q > 0.0):
            closing = min(abs(q), abs(pos[s]))
            share = closing / abs(q)
            t = cur[s]
            direction = 1.0 if pos[s] > 0.0 else -1.0
            t_pnl[t] += direction * closing * (p - avg[s]) - fee * share
            t_fees[t] += fee * share
            exit_qty[s] += closing
            exit_val[s] += closing * p
            pos[s] -= direction * closing
            if abs(pos[s]) <= 1e-12:
                pos[s] = 0.0
                t_exit_bar[t] = f_bar[j]
                t_exit_price[t] = exit_val[s] / exit_qty[s]
                cur[s] = -1
            remaining = q + direction * closing
            fee = fee * (1.0 - share)
        if abs(remaining) > 1e-12:
            if cur[s] < 0:
                cur[s] = nt
                _new_trade(nt, s, 1 if remaining > 0.0 else -1, f_bar[j], t_sym, t_dir,
                           t_entry_bar, t_exit_bar, t_size, t_entry_price, t_exit_price,
                           t_pnl, t_fees)  # fmt: skip
                nt += 1
                avg[s] = 0.0
                exit_qty[s] = 0.0
                exit_val[s] = 0.0
            t = cur[s]
            size = abs(pos[s]) + abs(remaining)
            avg[s] = (abs(pos[s]) * avg[s] + abs(remaining) * p) / size
            t_size[t] = max(t_size[t], size)
            t_entry_price[t] = avg[s]
            t_pnl[t] -= fee
            t_fees[t] += fee
            pos[s] += remaining
    if ev < ne:  # actions after the last fill still touch the open trades
        _ledger_actions(ev_bar[ne - 1], ev, ev_bar, ev_sym, ev_ratio, ev_cash, pos, avg,
                        exit_qty, cur, t_size, t_entry_price, t_pnl)  # fmt: skip
    return nt


rebalance = _jit(rebalance_kernel)
ledger = _jit(ledger_kernel)


def python_kernels() -> tuple[Callable[..., int], Callable[..., int]]:
    """The uncompiled kernels (for tests comparing them with the compiled ones)."""
    return (
        getattr(rebalance, "py_func", rebalance_kernel),
        getattr(ledger, "py_func", ledger_kernel),
    )
