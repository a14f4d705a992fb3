"""Monte Carlo of a plan's spend: the chance of breaking even, and of a windfall loss by level.

Why: the planner prices risk (ρ × the summed standard deviation of spend) but a board asks a
plainer question: how likely is this plan to stay within its budget, and how likely is each
practice (or locality) to overspend its share? This module answers it by simulation under the
statistical model the planner already uses (derive's CV rule and risk charge):

  K_u ~ Poisson(λ_u)          episodes of a service in commissioning unit u in the year,
                              λ_u = D_sl × n_l / N (the level's demand, level effects included,
                              spread over its units by population)
  X_i ~ Gamma(mean p̄, CV k)   each episode's cost: shape 1/k², scale p̄ k² (k = 0: exactly p̄);
                              p̄ = the plan's volume-weighted price of the service at its level,
                              so the mean of the simulated spend is the plan's activity spend
  S_u = Σ_{i ≤ K_u} X_i        given K_u = K, S_u ~ Gamma(K/k², p̄ k²): one draw per unit
  E S_u = λ_u p̄,  Var S_u = λ_u p̄² (1 + k²)   (compound Poisson: Var = λ E[X²])

Units and services are independent; an area smaller than one unit (N < n_l) bears its
population share m_l = N / n_l of that unit's spend. The independent units' episodes add to one
Poisson of mean D_sl, so the area's total spend on a service is drawn once per draw (exact, and
cheap even for a personal-budget level of 320,000 units). Transaction, set-up, entry and exit
costs are fixed and added as they are. Only contracts paid per episode are simulated: a block
contract or a capitated bundle (issue 16) is paid its fixed sum however many episodes come, so
it is a fixed cost like the others (in the plan's spend, outside its activity spend).

Units of one level are alike in the model (same rate, same population), so the expected share of
a level's units whose spend stays within their share of the budget is one unit's probability.
A unit's share of the budget is budget × (its mean spend / the plan's mean spend): the budget
apportioned in proportion to expected spend, with the whole plan's headroom.

Everything is vectorised: draws × service-levels arrays from one ``numpy.random.Generator``
(``default_rng(seed)``), in blocks of rows, so a seed gives the same numbers every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from planner.derive.areas import derive_areas, la_contributions
from planner.errors import InputError, Problem

DEFAULT_DRAWS = 10_000
BLOCK_CELLS = 2_000_000  # draws × service-levels generated at once (memory, not results)
HISTOGRAM_BINS = 40
FIXED_PAYMENTS = ("block", "bundle")  # contracts' payment forms paid a fixed sum (issue 16)


@dataclass
class RiskResult:
    """risk.json (``summary``), risk.csv (``table``), per level (``levels``) and the draws."""

    summary: dict[str, Any]
    table: pd.DataFrame
    levels: pd.DataFrame
    spend: np.ndarray = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {**self.summary, "levels": self.levels.to_dict(orient="records")}


def service_levels(instance: Any, plan: Any, year: int | None = None) -> tuple[pd.DataFrame, float, int]:
    """The plan's commissioned (service, level) rows of one year with what the simulation needs,
    the year's fixed costs (£) and the year."""
    contracts = plan.contracts
    if contracts is None or len(contracts) == 0:
        raise InputError(Problem("plan", "has no contracts to simulate.",
                                 "Give a plan folder with a solution ('planner solve')."))
    year = int(contracts["year"].min()) if year is None else int(year)
    mine = contracts.loc[contracts["year"] == year]
    if mine.empty:
        raise InputError(Problem("plan", f"has no contracts in {year}.",
                                 f"Give a year of the plan ({int(contracts['year'].min())}–"
                                 f"{int(contracts['year'].max())})."))
    if "payment" in mine.columns:  # block and bundle payments are fixed: in ``fixed`` below
        mine = mine.loc[~mine["payment"].isin(FIXED_PAYMENTS)]
    spend = (mine["price"] * mine["volume"]).groupby([mine["service"], mine["level"]]).sum()
    volume = mine.groupby(["service", "level"])["volume"].sum()
    rows = pd.DataFrame({"episodes": volume, "activity_spend": spend}).reset_index()
    rows = rows.loc[rows["episodes"] > 0].reset_index(drop=True)
    population = float(instance.config.population)
    levels = instance.levels.set_index("level")
    services = instance.services.set_index("service")
    rows["units"] = population / rows["level"].map(levels["population"]).to_numpy(float)
    rows["share"] = np.minimum(1.0, rows["units"])  # the area's share of a unit's spend
    rows["unit_episodes"] = rows["episodes"] / rows["units"]  # λ_u
    rows["mean_price"] = rows["activity_spend"] / rows["episodes"]
    rows["cost_cv"] = rows["service"].map(services["cost_cv"]).to_numpy(float)
    totals = (plan.totals_by_year or {}).get(str(year)) or plan.totals
    fixed = float(totals["spend"]) - float(totals["activity_spend"])
    return rows, fixed, year


def _compound(rng: np.random.Generator, mean_count: np.ndarray, price: np.ndarray,
              cv: np.ndarray, draws: int) -> np.ndarray:
    """draws × J compound Poisson–gamma sums: Poisson counts, then one gamma per cell."""
    counts = rng.poisson(mean_count, size=(draws, len(mean_count))).astype(float)
    varies = cv > 0
    out = counts * price
    if varies.any():
        k2 = cv[varies] ** 2
        out[:, varies] = rng.gamma(counts[:, varies] / k2, price[varies] * k2)
    return out


def risk(instance: Any, plan: Any, draws: int = DEFAULT_DRAWS, seed: int = 0,
         year: int | None = None) -> RiskResult:
    """Simulate ``draws`` years of the plan's spend (see the module docstring); deterministic
    for ``seed``. ``year`` (default the plan's first) picks the year of a multi-year plan."""
    if draws < 100:
        raise InputError(Problem("risk", f"--draws {draws} is too few to estimate a probability.",
                                 "Use at least 100 draws (10,000 is the default)."))
    rows, fixed, year = service_levels(instance, plan, year)
    budget = instance.budget_for_year(year - instance.config.base_year
                                      if isinstance(instance.config.policy.budget, list) else 0)
    price = rows["mean_price"].to_numpy(float)
    cv = rows["cost_cv"].to_numpy(float)
    share = rows["share"].to_numpy(float)
    area_count = rows["episodes"].to_numpy(float) / share  # Poisson mean of what the area bears
    unit_count = rows["unit_episodes"].to_numpy(float)  # λ of one whole unit
    level_codes, level_names = pd.factorize(rows["level"])
    onehot = np.zeros((len(rows), len(level_names)))
    onehot[np.arange(len(rows)), level_codes] = 1.0
    mean_total = fixed + float((rows["episodes"] * price).sum())
    unit_mean = share * unit_count * price  # E of a unit's borne spend on each service
    level_mean = np.bincount(level_codes, weights=unit_mean, minlength=len(level_names))
    # Money the local authority pools (issue 17) pays the pooled levels' episodes first, up to
    # its contribution; the budget is the NHS's, so the chance of breaking even is the NHS
    # share's: spend − min(L, the draw's pooled episode spend) against the budget. (Contract
    # costs of pooled levels, which the plan may also charge to the pool, are left to the NHS:
    # the figure errs on the prudent side.)
    year_index = year - instance.config.base_year
    contributions = la_contributions(instance)
    contribution = float(contributions[min(year_index, len(contributions) - 1)]) \
        if contributions else 0.0
    pooled_levels = derive_areas(instance).pooled_levels if contribution > 0 else ()
    pooled = rows["level"].isin(pooled_levels).to_numpy()
    # block and bundle sums of pooled levels: fixed, and the pool pays them as it pays episodes
    # (funders.csv, budget.csv's la_paid)
    pooled_fixed = _fixed_payments(plan, year, pooled_levels)
    pooled_mean = float((rows["episodes"] * price)[pooled].sum()) + pooled_fixed
    la_mean = min(contribution, pooled_mean)  # for the units' shares (a mean-field figure)
    ratio = ((budget + la_mean) / mean_total) if budget is not None and mean_total > 0 else None

    rng = np.random.default_rng(seed)
    block = max(1, BLOCK_CELLS // max(1, len(rows)))
    total = np.empty(draws)
    la_paid = np.zeros(draws)
    per_service = np.empty((draws, len(rows)))
    unit_within = np.zeros(len(level_names))
    unit_service_within = np.zeros(len(rows))
    for start in range(0, draws, block):
        n = min(block, draws - start)
        area = share * _compound(rng, area_count, price, cv, n)
        per_service[start:start + n] = area
        total[start:start + n] = fixed + area.sum(axis=1)
        if contribution > 0 and (pooled.any() or pooled_fixed > 0):
            la_paid[start:start + n] = np.minimum(contribution,
                                                  area[:, pooled].sum(axis=1) + pooled_fixed)
        unit = share * _compound(rng, unit_count, price, cv, n)
        if ratio is not None:
            level_spend = unit @ onehot  # a unit's spend on all its level's services
            unit_within += (level_spend <= level_mean * ratio + 1e-9).sum(axis=0)
            unit_service_within += (unit <= unit_mean * ratio + 1e-9).sum(axis=0)

    table = _service_table(rows, per_service, unit_service_within / draws if ratio else None)
    levels = _level_table(rows, level_names, level_codes, level_mean, ratio, budget,
                          unit_within / draws if ratio else None)
    order = dict(zip(instance.levels["level"], instance.levels["order"]))
    levels = levels.sort_values("level", key=lambda s: s.map(order), kind="stable",
                                ignore_index=True)  # along the continuum, individual first
    summary = _summary(instance, total - la_paid, budget, fixed, mean_total - float(la_paid.mean()),
                       rows, draws, seed, year)
    if contribution > 0:
        summary["la_contribution"] = contribution
        summary["la_paid_mean"] = float(la_paid.mean())
        summary["model"] += ("; spend is the NHS's: the local authority's pooled money pays the "
                             "pooled levels' episodes first, up to its contribution")
    return RiskResult(summary=summary, table=table, levels=levels, spend=total)


def _fixed_payments(plan: Any, year: int, levels: Any) -> float:
    """£ of the block and bundle contracts of ``levels`` in ``year`` (0 without any)."""
    contracts = plan.contracts
    if not len(levels) or "payment" not in contracts.columns:
        return 0.0
    mine = contracts.loc[(contracts["year"] == year) & contracts["payment"].isin(FIXED_PAYMENTS)
                         & contracts["level"].isin(levels)]
    return float(mine["spend"].sum())


def _quantiles(values: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.quantile(values, [0.05, 0.5, 0.95], axis=axis)


def _service_table(rows: pd.DataFrame, per_service: np.ndarray,
                   unit_within: np.ndarray | None) -> pd.DataFrame:
    """risk.csv: one row per commissioned service and level."""
    price, cv, share = rows["mean_price"], rows["cost_cv"], rows["share"]
    p05, p50, p95 = _quantiles(per_service)
    spread = np.sqrt(1.0 + cv ** 2)
    return pd.DataFrame({
        "service": rows["service"], "level": rows["level"], "units": rows["units"],
        "episodes": rows["episodes"], "mean_price": price, "cost_cv": cv,
        "mean": rows["episodes"] * price,
        "sd": np.sqrt(share * rows["episodes"]) * price * spread,  # analytic, exact
        "sd_simulated": per_service.std(axis=0, ddof=1),
        "p05": p05, "p50": p50, "p95": p95,
        "unit_cv": spread / np.sqrt(rows["unit_episodes"]),
        "p_unit_within": unit_within if unit_within is not None else np.nan,
    })


def _level_table(rows: pd.DataFrame, names: pd.Index, codes: np.ndarray, level_mean: np.ndarray,
                 ratio: float | None, budget: float | None,
                 unit_within: np.ndarray | None) -> pd.DataFrame:
    """Per level: units, services, a unit's mean spend and budget share, P(unit within it)."""
    first = rows.groupby("level", sort=False)["units"].first()
    return pd.DataFrame({
        "level": list(names), "units": first.reindex(names).to_numpy(float),
        "services": np.bincount(codes, minlength=len(names)),
        "unit_mean_spend": level_mean,
        "unit_budget_share": level_mean * ratio if ratio is not None else np.nan,
        "p_unit_within": unit_within if unit_within is not None else np.nan,
    })


def _summary(instance: Any, total: np.ndarray, budget: float | None, fixed: float,
             mean_total: float, rows: pd.DataFrame, draws: int, seed: int,
             year: int) -> dict[str, Any]:
    """risk.json's figures (£ unless stated)."""
    p05, p50, p95 = (float(v) for v in _quantiles(total))
    variance = float((rows["share"] * rows["episodes"] * rows["mean_price"] ** 2
                      * (1.0 + rows["cost_cv"] ** 2)).sum())
    sd = math.sqrt(variance)
    out: dict[str, Any] = {
        "instance": instance.name, "year": year, "draws": draws, "seed": seed,
        "budget": budget, "mean": float(total.mean()), "expected_spend": mean_total,
        "fixed_costs": fixed, "sd": sd, "sd_simulated": float(total.std(ddof=1)),
        "p05": p05, "p50": p50, "p95": p95,
        "p_within_budget": None, "p_within_budget_se": None, "p_within_budget_normal": None,
        "expected_overspend": None,
        "histogram": _histogram(total),
        "model": ("Poisson episodes per commissioning unit; gamma episode costs with the plan's "
                  "mean price and the service's cost_cv; units and services independent"),
    }
    if budget is not None:
        p = float((total <= budget).mean())
        out["p_within_budget"] = p
        out["p_within_budget_se"] = math.sqrt(max(p * (1 - p), 1.0 / draws) / draws)
        out["p_within_budget_normal"] = (NormalDist().cdf((budget - mean_total) / sd) if sd > 0
                                         else float(mean_total <= budget))
        out["expected_overspend"] = float(np.maximum(total - budget, 0.0).mean())
    target = instance.config.policy.budget_confidence
    if target is not None and out["p_within_budget"] is not None:
        out["budget_confidence"] = target
        out["meets_budget_confidence"] = bool(out["p_within_budget"] + 3 * out["p_within_budget_se"]
                                              >= target)
    return out


def _histogram(total: np.ndarray) -> dict[str, list[float]]:
    low, high = float(total.min()), float(total.max())
    if high <= low:
        high = low + 1.0
    counts, edges = np.histogram(total, bins=HISTOGRAM_BINS, range=(low, high))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def sentence(summary: dict[str, Any]) -> str:
    """The figures in one sentence, for summary.md and the terminal."""
    from planner.formats import money

    text = (f"Simulating {summary['draws']:,} years of demand and costs, spend is between "
            f"{money(summary['p05'])} and {money(summary['p95'])} nine years in ten "
            f"(median {money(summary['p50'])})")
    if summary.get("p_within_budget") is not None:
        text += (f"; the plan stays within its budget of {money(summary['budget'])} with "
                 f"probability {summary['p_within_budget']:.1%}, and the expected overspend is "
                 f"{money(summary['expected_overspend'])}")
    return text + "."
