"""Derived data: everything the model needs, computed with pandas before any modelling.

The formulation never looks at the raw tables: it reads these tidy, sparse tables. Computing them
first keeps the model a pure function of a few arrays, lets an analyst inspect *why* a level or a
provider is (in)eligible (``planner derive``), and means only eligible rows ever reach Pyomo.

Units: demand in episodes per year, prices in £ per episode, costs in £ per year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.data.instance import Instance
from planner.derive.areas import AreaData, derive_areas, la_contributions
from planner.derive.payment import bundle_rows, paid_price
from planner.rules import FAMILY_NAMES, Family

#: Constraint families (and eligibility rules) a user may switch off: see :class:`Family`.
FAMILIES = FAMILY_NAMES


@dataclass(frozen=True)
class TargetTerms:
    """A setting target as the model reads it: at least ``shares[t]`` of ``category``'s episodes
    in year t delivered in ``settings`` (a share per year of the horizon)."""

    category: str
    settings: tuple[str, ...]
    shares: tuple[float, ...]


@dataclass(frozen=True)
class ModelPolicy:
    """The policy numbers the formulation reads, typed (the model never reads ``instance.config``).

    Money in £ (a year), shares as fractions, years as counts."""

    name: str  # the instance's name (the model's)
    budgets: tuple[float | None, ...]  # £ budget of each year of the horizon (None: no budget)
    value_per_qaly: float  # £ per QALY (λ)
    price_change: float  # yearly fractional change of every price
    management_cost_cap: float | None  # £ a year of transaction costs at most (None: no cap)
    break_even: str  # annual | carry_forward | multi_year
    break_even_window: int  # years of a multi_year break-even window
    min_contract_years: int  # years a contract runs at least once let (T > 1)
    setting_targets: tuple[TargetTerms, ...] = ()
    #: chance of breaking even the plan must have (policy.budget_confidence; None: no rule)
    budget_confidence: float | None = None
    #: areas (issue 17): ±band on spend per need-weighted head (None: no rule)
    fair_share_band: float | None = None
    #: £ the local authority pools in each year for the pooled levels (issue 17; () = none)
    la_contribution: tuple[float, ...] = ()

    @property
    def has_budget(self) -> bool:
        return self.budgets[0] is not None if self.budgets else False

    @classmethod
    def of(cls, instance: Instance) -> ModelPolicy:
        config = instance.config
        policy = config.policy
        horizon = config.horizon
        budgets = tuple(instance.budget_for_year(t if isinstance(policy.budget, list) else 0)
                        for t in range(horizon))
        targets = tuple(TargetTerms(
            target.category, tuple(target.settings),
            tuple(float(v) for v in (target.min_share if isinstance(target.min_share, list)
                                     else [target.min_share] * horizon)))
            for target in policy.setting_targets)
        return cls(name=instance.name, budgets=budgets,
                   value_per_qaly=float(policy.value_per_qaly),
                   price_change=float(policy.price_change),
                   management_cost_cap=policy.management_cost_cap,
                   break_even=str(policy.break_even),
                   break_even_window=int(policy.break_even_window),
                   min_contract_years=int(policy.min_contract_years), setting_targets=targets,
                   budget_confidence=policy.budget_confidence,
                   fair_share_band=policy.fair_share_band,
                   la_contribution=tuple(v for v in la_contributions(instance))
                   if any(v > 0 for v in la_contributions(instance)) else ())


@dataclass(frozen=True)
class Derived:
    """Sparse tables the formulation is built from (see :func:`derive`)."""

    instance: Instance
    without: frozenset[str]
    years: tuple[int, ...]  # calendar years of the horizon, base_year first
    levels: pd.DataFrame
    services: pd.DataFrame
    service_levels: pd.DataFrame
    offers: pd.DataFrame
    contracts: pd.DataFrame
    providers: pd.DataFrame
    policy: ModelPolicy  # the policy numbers the model reads (typed; see ModelPolicy)
    capacity_in_big_m: bool = True  # False in elastic models, where capacity may be relaxed
    #: False in elastic models: the rows the rules imply (formulations.tightening) would keep
    #: a relaxed rule in force
    tighten: bool = True
    mutable: bool = False  # build prices, demand and thresholds as Params (sweeps re-set them)
    #: effects.csv: episodes of a source changing a target's demand (issue 15; empty: none)
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: one row per (bundle, service with demand): planner.payment_derive.bundle_rows (issue 16)
    bundles: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: areas, demand shares, access and pooled levels (issue 17, planner.derive.areas)
    areas: AreaData | None = None

    def on(self, family: Family | str) -> bool:
        """Whether ``family`` is on; a name that is no family is an error, never silently on."""
        return Family.parse(family) not in self.without

    @property
    def horizon(self) -> int:
        return len(self.years)

    @property
    def price_change(self) -> float:
        """Yearly fractional change of every price (e.g. -0.04 for tariff efficiency)."""
        return self.policy.price_change

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"levels": self.levels, "services": self.services,
                  "service_levels": self.service_levels, "offers": self.offers,
                  "contracts": self.contracts, "providers": self.providers}
        if len(self.bundles):  # issue 16: only when the instance has bundles
            tables["bundles"] = self.bundles
        return tables


def derive(instance: Instance, without: frozenset[str] | set[str] = frozenset()) -> Derived:
    """Compute the derived tables of ``instance`` with the given families switched off."""
    without = frozenset(Family.parse(name) for name in without)
    population = instance.config.population
    rho = instance.config.policy.risk_aversion
    horizon = instance.config.horizon
    years = tuple(instance.config.base_year + t for t in range(horizon))
    levels = _levels(instance, population)
    services = _services(instance, population, horizon)
    service_levels = _service_levels(instance, services, levels, population, rho, without)
    offers = _offers(instance, services, without)
    contracts = _contracts(service_levels, offers, instance, levels, without)
    bundles = bundle_rows(instance, services, service_levels, without)
    providers = _providers(instance, contracts, without, bundles)
    contracts = _mark_binaries(contracts, services, without, instance)
    return Derived(instance, without, years, levels, services, service_levels, offers, contracts,
                   providers, ModelPolicy.of(instance), effects=instance.effects.copy(),
                   bundles=bundles,
                   areas=derive_areas(instance))


def _levels(instance: Instance, population: float) -> pd.DataFrame:
    levels = instance.levels.copy()
    levels["units"] = population / levels["population"]
    levels["contract_cost"] = levels["transaction_cost"] * levels["units"]
    return levels.sort_values(["order", "level"], kind="stable").reset_index(drop=True)


def _services(instance: Instance, population: float, horizon: int) -> pd.DataFrame:
    services = instance.services.copy()
    mean_offer_price = instance.offers.groupby("service")["price"].mean()
    services["rate"] = services["demand"] / population
    services["growth"] = services["growth"].fillna(instance.config.policy.demand_growth)
    # The level is chosen once for the horizon, so it must bear the risk in the year of least
    # demand (the first year unless demand shrinks): the CV rule uses that year's rate.
    services["least_rate"] = services["rate"] * np.minimum(
        1.0, (1.0 + services["growth"]) ** (horizon - 1))
    services["mean_price"] = services["tariff"].fillna(services["service"].map(mean_offer_price))
    services["mean_price"] = services["mean_price"].fillna(0.0)
    return services.reset_index(drop=True)


def _service_levels(instance: Instance, services: pd.DataFrame, levels: pd.DataFrame,
                    population: float, rho: float, without: frozenset[str]) -> pd.DataFrame:
    """Every (service, level) pair with demand, and whether the level may commission it and why."""
    active = services.loc[services["demand"] > 0,
                          ["service", "category", "rate", "least_rate", "cost_cv", "demand",
                           "mean_price", "allowed_levels", "growth"]]
    pairs = active.merge(levels[["level", "order", "population", "risk_tolerance", "units",
                                 "contract_cost"]], how="cross")
    allowed = np.array([not allowed or level in allowed
                        for allowed, level in zip(pairs["allowed_levels"], pairs["level"])],
                       dtype=bool)
    spread = np.sqrt(1.0 + pairs["cost_cv"].to_numpy() ** 2)
    rate = pairs["rate"].to_numpy()
    pairs["cv"] = spread / np.sqrt(pairs["least_rate"].to_numpy() * pairs["population"].to_numpy())
    tolerance = pairs["risk_tolerance"].to_numpy()
    bears_risk = np.isnan(tolerance) | (pairs["cv"].to_numpy() <= tolerance + 1e-12)
    if "risk_pooling" in without:
        bears_risk[:] = True
    pairs["eligible"] = allowed & bears_risk
    pairs["reason"] = np.where(~allowed, "not in allowed_levels",
                               np.where(~bears_risk, "spread of spend above risk_tolerance", ""))
    effects = instance.level_effects.set_index(["level", "category"])["demand_factor"]
    factor = pd.Series(list(zip(pairs["level"], pairs["category"]))).map(effects)
    pairs["demand_factor"] = factor.fillna(1.0).to_numpy()
    pairs["level_demand"] = pairs["demand"] * pairs["demand_factor"]
    pairs["risk_sd"] = (pairs["mean_price"] * np.sqrt(rate) * spread * population
                        / np.sqrt(pairs["population"].to_numpy()))
    pairs["risk_cost"] = rho * pairs["risk_sd"]
    columns = ["service", "level", "order", "eligible", "reason", "cv", "risk_tolerance",
               "demand_factor", "level_demand", "growth", "risk_sd", "risk_cost", "contract_cost"]
    return pairs[columns].reset_index(drop=True)


def _offers(instance: Instance, services: pd.DataFrame, without: frozenset[str]) -> pd.DataFrame:
    offers = instance.offers.merge(
        services[["service", "tariff", "min_quality", "qaly_gain"]], on="service", how="left")
    offers["unit_price"] = offers["tariff"].fillna(offers["price"])
    # issue 16: the quality withhold, and block offers paid by the year, not per episode
    offers["unit_price"] = paid_price(offers, instance.config.policy.quality_withhold)
    threshold = 0.0 if "min_quality" in without else offers["min_quality"]
    offers["meets_quality"] = offers["quality"] >= threshold - 1e-12
    offers["new"] = offers["incumbent_volume"] <= 0
    offers["qaly_per_episode"] = offers["qaly_gain"] * offers["quality"]
    return offers.drop(columns=["tariff", "qaly_gain"]).reset_index(drop=True)


def _contracts(service_levels: pd.DataFrame, offers: pd.DataFrame, instance: Instance,
               levels: pd.DataFrame, without: frozenset[str]) -> pd.DataFrame:
    """Eligible contracts E = {(s, l, p)}: sparse join of eligible levels and eligible offers."""
    eligible_levels = service_levels.loc[service_levels["eligible"]].reset_index(names="sl")
    eligible_offers = offers.loc[offers["meets_quality"]]
    contracts = eligible_levels[["sl", "service", "level", "level_demand", "growth",
                                 "contract_cost"]].merge(
        eligible_offers[["service", "provider", "unit_price", "quality", "capacity",
                         "capacity_use", "setup_cost", "incumbent_volume", "new",
                         "qaly_per_episode"]], on="service", how="inner")
    if "conflicts" not in without:
        conflicted = instance.providers.set_index("provider")["conflicted_levels"]
        blocked = np.array([level in conflicted.get(provider, ())
                            for provider, level in zip(contracts["provider"], contracts["level"])],
                           dtype=bool)
        contracts = contracts.loc[~blocked]
    capacity = contracts["capacity"].to_numpy()
    demand = contracts["level_demand"].to_numpy()
    if "offer_capacity" in without:
        contracts["big_m"] = demand
    else:
        contracts["big_m"] = np.where(np.isnan(capacity), demand, np.minimum(capacity, demand))
    # An offer with no capacity can carry no activity: it is no contract at all (and a provider
    # with only such offers cannot be "used" to escape its exit cost).
    contracts = contracts.loc[contracts["big_m"] > 0].copy()
    contracts["setup"] = np.where(contracts["new"], contracts["setup_cost"], 0.0)
    order = levels.set_index("level")["order"]
    contracts = contracts.assign(level_order=contracts["level"].map(order))
    contracts = contracts.sort_values(["service", "level_order", "level", "provider"],
                                      kind="stable").drop(columns="level_order")
    return contracts.reset_index(drop=True)


def _providers(instance: Instance, contracts: pd.DataFrame, without: frozenset[str],
               bundles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Providers with whether a use binary w_p is needed, and the least volume that counts as use.

    A provider that may hold an eligible bundle can be used through it (issue 16); a provider
    with an income guarantee needs w_p, since the guarantee is paid while it is used."""
    providers = instance.providers.copy()
    has_contracts = providers["provider"].isin(contracts["provider"])
    if bundles is not None and len(bundles):
        has_contracts |= providers["provider"].isin(bundles.loc[bundles["eligible"], "provider"])
    min_income = providers["min_income"] if "min_income" not in without else 0.0
    costly = ((min_income > 0) | ((providers["entry_cost"] > 0) & ~providers["incumbent"])
              | ((providers["exit_cost"] > 0) & providers["incumbent"])
              | (providers["income_guarantee"] > 0))
    providers["needs_w"] = has_contracts & costly
    largest = contracts.groupby("provider")["big_m"].max()
    providers["min_volume"] = np.minimum(1.0, providers["provider"].map(largest).fillna(0.0))
    return providers.reset_index(drop=True)


def _mark_binaries(contracts: pd.DataFrame, services: pd.DataFrame,
                   without: frozenset[str], instance: Instance) -> pd.DataFrame:
    """z exists only where a contract has a transaction, setup, share or choice role.

    Over several years a contract also has a role if it must run a minimum number of years.
    """
    svc = services.set_index("service")
    share = svc["min_share"] if "min_share" not in without else svc["min_share"] * 0
    choice = (
        (share > 0)
        | ((svc["min_providers"] > 1) if "min_providers" not in without else False)
        | (svc["max_providers"].notna() if "max_providers" not in without else False)
        | ((svc["choice_headroom"] > 0) if "headroom" not in without else False)
    )
    contracts = contracts.copy()
    needs_z = ((contracts["contract_cost"] > 0) | (contracts["setup"] > 0)
               | contracts["service"].map(choice).fillna(False).astype(bool))
    config = instance.config
    if config.horizon > 1 and config.policy.min_contract_years > 1:
        needs_z[:] = True
    contracts["needs_z"] = needs_z
    return contracts
