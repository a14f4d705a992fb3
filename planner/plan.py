"""A solved plan: tidy tables read back from the solution, totals, and writing it to a folder.

Totals are recomputed from the extracted tables rather than read from model expressions, so what
the plan *says* is exactly what its tables add up to (and what :func:`planner.verify` rechecks).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.single_year import BuiltModel
from planner.csvsafe import write_csv
from planner.instance import Instance
from planner.solver import SolveResult

VOLUME_TOL = 1e-6  # episodes: smaller volumes are solver noise, not activity
DECIMALS = 6  # rounding of written volumes and £, for byte-identical output across runs


@dataclass
class Plan:
    """The answer: which services, at which level, from whom, and what it costs (£ per year)."""

    instance: Instance
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    totals: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    services: pd.DataFrame = field(default_factory=pd.DataFrame)
    providers: pd.DataFrame = field(default_factory=pd.DataFrame)
    levels: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnosis: dict[str, Any] | None = None

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "feasible")

    def summary(self) -> str:
        """A few lines for the terminal."""
        if not self.has_solution:
            return f"{self.instance.name}: {self.status}"
        t = self.totals
        lines = [f"{self.instance.name}: {self.status}"
                 + (f" (gap {self.gap:.2%})" if self.gap and self.gap > 1e-9 else ""),
                 f"  spend £{t['spend']:,.0f}" + (f" of budget £{t['budget']:,.0f}"
                                                 f" (headroom £{t['headroom']:,.0f})"
                                                 if t.get("budget") is not None else ""),
                 f"  QALYs {t['qalys']:,.1f}; net benefit £{t['net_benefit']:,.0f}; "
                 f"objective £{self.objective:,.0f}"]
        used = self.services.loc[self.services["commissioned"]]
        by_level = used.groupby("level").size().sort_values(ascending=False)
        lines.append(f"  {len(used)} of {len(self.services)} services commissioned across "
                     f"{len(by_level)} levels: "
                     + ", ".join(f"{lv} {n}" for lv, n in by_level.items()))
        lines.append(f"  {len(self.contracts)} contracts with "
                     f"{int(self.providers['used'].sum())} providers")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "objective": self.objective, "bound": self.bound,
                "gap": self.gap, "totals": self.totals, "counts": self.counts,
                "timings": self.timings, "versions": self.versions,
                "instance": {"name": self.instance.name, "sha256": self.instance.sha256(),
                             "source": self.instance.source},
                "options": self.options}

    def to_dir(self, path: str | Path) -> Path:
        """Write plan.json and the CSV tables atomically: all of them, or nothing.

        Files are written to a temporary folder beside ``path`` and renamed into place, so an
        interrupted or failed write never leaves a half-written plan. An existing folder at
        ``path`` is replaced whole.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            _write_json(self.to_json(), staging / "plan.json")
            if self.has_solution:
                for name in ("contracts", "services", "providers", "levels"):
                    write_csv(getattr(self, name), staging / f"{name}.csv")
            if self.diagnosis is not None:
                _write_json(self.diagnosis, staging / "diagnosis.json")
            _replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def _write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(_jsonable(data), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _replace(staging: Path, target: Path) -> None:
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not np.isfinite(value):
            return None
        return round(value, DECIMALS)
    return value


# --- reading a solution back ---------------------------------------------------------------
def extract(built: BuiltModel, result: SolveResult) -> dict[str, Any]:
    """Turn solver values into the plan's tables and totals (all money in £ per year)."""
    derived = built.derived
    instance = derived.instance
    contracts = derived.contracts
    x = np.asarray(result.values.get("x", []), dtype=float)
    y = np.asarray(result.values.get("y", []), dtype=float)
    z = np.asarray(result.values.get("z", []), dtype=float)
    w = np.asarray(result.values.get("w", []), dtype=float)
    x = np.where(x > VOLUME_TOL, np.round(x, DECIMALS), 0.0)

    let = x > 0
    if len(built.z_rows):
        let[built.z_rows] = z > 0.5
    year = instance.config.base_year
    table = contracts.loc[let].assign(volume=x[let])
    table = pd.DataFrame({
        "service": table["service"], "level": table["level"], "provider": table["provider"],
        "year": year, "volume": table["volume"], "price": table["unit_price"],
        "spend": table["volume"] * table["unit_price"], "quality": table["quality"],
        "qalys": table["volume"] * table["qaly_per_episode"], "new": table["new"],
        "transaction_cost": table["contract_cost"], "setup_cost": table["setup"],
    }).reset_index(drop=True)

    chosen = derived.service_levels.loc[built.sl_rows[y > 0.5]]
    used = pd.Series(False, index=derived.providers["provider"])
    used[table.loc[table["volume"] > 0, "provider"].unique()] = True
    if len(built.w_rows):
        used.iloc[built.w_rows] = w > 0.5
    return {
        "contracts": table,
        "services": services_table(instance, table, chosen),
        "providers": providers_table(instance, table, used),
        "levels": levels_table(derived.levels, table, chosen),
    }


def services_table(instance: Instance, contracts: pd.DataFrame,
                   chosen: pd.DataFrame) -> pd.DataFrame:
    services = instance.services[["service", "category", "setting", "mandatory", "demand"]].copy()
    level = chosen.set_index("service")["level"]
    services["commissioned"] = services["service"].isin(level.index)
    services["level"] = services["service"].map(level)
    level_demand = chosen.set_index("service")["level_demand"]
    services["demand"] = services["service"].map(level_demand).fillna(services["demand"])
    grouped = contracts.assign(weighted=contracts["quality"] * contracts["volume"],
                               total=contracts["spend"] + contracts["transaction_cost"]
                               + contracts["setup_cost"]).groupby("service")
    services["providers"] = services["service"].map(grouped.size()).fillna(0).astype(int)
    services["spend"] = services["service"].map(grouped["total"].sum()).fillna(0.0)
    volume = services["service"].map(grouped["volume"].sum()).fillna(0.0)
    weighted = services["service"].map(grouped["weighted"].sum()).fillna(0.0)
    services["avg_quality"] = np.where(volume > 0, weighted / volume.where(volume > 0, 1), np.nan)
    services["qalys"] = services["service"].map(grouped["qalys"].sum()).fillna(0.0)
    services["risk_cost"] = services["service"].map(chosen.set_index("service")["risk_cost"]
                                                    ).fillna(0.0)
    return services[["service", "category", "setting", "mandatory", "commissioned", "level",
                     "demand", "providers", "spend", "avg_quality", "qalys", "risk_cost"]]


def providers_table(instance: Instance, contracts: pd.DataFrame, used: pd.Series) -> pd.DataFrame:
    providers = instance.providers.copy()
    offers = instance.offers
    grouped = contracts.groupby("provider")
    providers["used"] = providers["provider"].map(used).fillna(False).astype(bool)
    providers["income"] = providers["provider"].map(grouped["spend"].sum()).fillna(0.0)
    providers["volume"] = providers["provider"].map(grouped["volume"].sum()).fillna(0.0)
    providers["break_even_margin"] = np.where(
        providers["used"] & (providers["min_income"] > 0),
        providers["income"] - providers["min_income"], np.nan)
    use = contracts.merge(offers[["provider", "service", "capacity_use"]],
                          on=["provider", "service"], how="left")
    resource = (use["capacity_use"] * use["volume"]).groupby(use["provider"]).sum()
    offered = offers.groupby("provider")["capacity"].agg(
        lambda c: np.nan if c.isna().any() else c.sum())
    denominator = providers["total_capacity"].fillna(providers["provider"].map(offered))
    numerator = np.where(providers["total_capacity"].notna(),
                         providers["provider"].map(resource).fillna(0.0), providers["volume"])
    providers["utilisation"] = np.where(denominator > 0, numerator / denominator, np.nan)
    providers["entry_cost_paid"] = np.where(providers["used"] & ~providers["incumbent"],
                                            providers["entry_cost"], 0.0)
    providers["exit_cost_paid"] = np.where(~providers["used"] & providers["incumbent"],
                                           providers["exit_cost"], 0.0)
    return providers[["provider", "kind", "incumbent", "used", "volume", "income", "min_income",
                      "break_even_margin", "utilisation", "entry_cost_paid", "exit_cost_paid"]]


def levels_table(levels: pd.DataFrame, contracts: pd.DataFrame,
                 chosen: pd.DataFrame) -> pd.DataFrame:
    out = levels[["level", "order"]].copy()
    grouped = contracts.groupby("level")
    out["services"] = out["level"].map(chosen.groupby("level").size()).fillna(0).astype(int)
    out["contracts"] = out["level"].map(grouped.size()).fillna(0).astype(int)
    out["transaction_costs"] = out["level"].map(grouped["transaction_cost"].sum()).fillna(0.0)
    cost = contracts["spend"] + contracts["transaction_cost"] + contracts["setup_cost"]
    out["spend"] = out["level"].map(cost.groupby(contracts["level"]).sum()).fillna(0.0)
    return out.drop(columns="order")


def compute_totals(instance: Instance, tables: dict[str, pd.DataFrame]) -> dict[str, float | None]:
    """Spend and benefit from the plan's tables (no model involved)."""
    contracts, services, providers = tables["contracts"], tables["services"], tables["providers"]
    policy = instance.config.policy
    activity = float(contracts["spend"].sum())
    transaction = float(contracts["transaction_cost"].sum())
    setup = float(contracts["setup_cost"].sum())
    entry = float(providers["entry_cost_paid"].sum())
    exit_ = float(providers["exit_cost_paid"].sum())
    spend = activity + transaction + setup + entry + exit_
    qalys = float(contracts["qalys"].sum())
    risk = float(services["risk_cost"].sum())
    budget = instance.budget_for_year(0)
    return {"spend": spend, "activity_spend": activity, "transaction_costs": transaction,
            "setup_costs": setup, "entry_costs": entry, "exit_costs": exit_,
            "risk_cost": risk, "qalys": qalys,
            "net_benefit": policy.value_per_qaly * qalys - spend, "budget": budget,
            "headroom": None if budget is None else budget - spend}
