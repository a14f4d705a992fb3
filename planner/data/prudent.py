"""The prudent budget's policy checks and its independent verification (issue 18).

``policy.budget_confidence`` = α asks that the plan break even with probability at least α under
the statistical model of :mod:`planner.analysis.risk` (the model row is :mod:`formulations.prudent`).
Verification rechecks the rule the row implies, from the raw tables and the plan's contracts
only:

    spend + z_α √Q ≤ budget,   Q = Σ_c min(1, N / n_l) (1 + k_s²) π_c² x_c   (£²)

where π_c is the tariff or the offer's price read from the instance, n_l the level's population,
k_s the service's cost_cv and x_c the contract's volume. Q bounds the variance of spend (see
formulations/prudent.py), so a plan passing this check breaks even with probability ≥ α under
the normal approximation; the Monte Carlo of :func:`planner.risk.risk` checks it without one.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from planner.errors import Problem
from planner.rules import ABS_TOL, REL_TOL


def z_value(alpha: float) -> float:
    """z_α, the standard normal quantile of α (e.g. 1.2816 for 0.9)."""
    return NormalDist().inv_cdf(alpha)


def policy_problems(config: Any) -> list[Problem]:
    """budget_confidence needs a budget, and one year (the rule is annual, on one year's spend)."""
    policy = config.policy
    if policy.budget_confidence is None:
        return []
    problems = []
    if policy.budget is None:
        problems.append(Problem("instance.yaml", "policy.budget_confidence is set but there is no "
                                "policy.budget to break even on.",
                                "Give policy.budget in £, or set budget_confidence to null."))
    if config.horizon != 1:
        problems.append(Problem("instance.yaml", f"policy.budget_confidence applies to single-year "
                                f"plans; the horizon is {config.horizon} years.",
                                "Set horizon to 1, or budget_confidence to null."))
    return problems


def variance_bound(instance: Any, contracts: Any) -> float:
    """Q (£²) of the contracts of one year, from the instance's tables."""
    population = instance.config.population
    n_l = instance.levels.set_index("level")["population"]
    services = instance.services.set_index("service")
    offers = instance.offers.set_index(["provider", "service"])["price"]
    total = 0.0
    for c in contracts.itertuples(index=False):
        tariff = services.at[c.service, "tariff"]
        price = float(tariff) if not math.isnan(tariff) else float(offers[(c.provider, c.service)])
        share = min(1.0, population / float(n_l[c.level]))
        cv = float(services.at[c.service, "cost_cv"])
        total += share * (1.0 + cv * cv) * price * price * float(c.volume)
    return total


def check_budget_confidence(instance: Any, plan: Any, spend: float, without: frozenset[str]) -> list[str]:
    """The violated prudent-budget rule of ``plan`` (empty when it holds or is off)."""
    policy = instance.config.policy
    if (policy.budget_confidence is None or "budget" in without or policy.budget is None
            or instance.config.horizon != 1):
        return []
    budget = float(policy.budget if not isinstance(policy.budget, list) else policy.budget[0])
    z = z_value(policy.budget_confidence)
    q = variance_bound(instance, plan.contracts)
    prudent = spend + z * math.sqrt(max(q, 0.0))
    if prudent <= budget + ABS_TOL + REL_TOL * max(1.0, budget):
        return []
    return [f"budget_confidence: spend £{spend:,.2f} + z {z:.4f} × s.d. bound £{math.sqrt(q):,.2f} "
            f"= £{prudent:,.2f} exceeds the budget £{budget:,.2f} (a {policy.budget_confidence:.0%} "
            "chance of breaking even needs that much headroom)"]
