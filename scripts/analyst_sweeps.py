"""Ready-made sensitivity sweeps for policy analysts, each writing a table and a chart.

    python scripts/analyst_sweeps.py budget            # budget −10 % to +5 % (PCT)
    python scripts/analyst_sweeps.py tariff            # tariff efficiency 0–4 % a year (PCT, 5 years)
    python scripts/analyst_sweeps.py ltc_growth        # long-term-condition demand growth (5 years)
    python scripts/analyst_sweeps.py quality           # quality thresholds raised or lowered
    python scripts/analyst_sweeps.py no_practice       # forbid practice-level commissioning
    python scripts/analyst_sweeps.py all --workers 2   # every one of them

Each sweep is an ordinary sweep file run through ``planner.sweep`` (so the same YAML works with
``planner sweep``); the results go to OUT/NAME.csv and a chart of spend, QALYs and levels used
against the swept value to OUT/NAME.svg.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import planner  # noqa: E402
from planner.csvsafe import write_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PCT, PCT_5Y = ROOT / "instances" / "pct", ROOT / "instances" / "pct_5y"


def budget_sweep(instance: planner.Instance) -> dict:
    """Budget from −10 % to +5 % of the instance's own (every year scaled alike)."""
    budget = instance.config.policy.budget
    factors = [0.90, 0.925, 0.95, 0.975, 1.0, 1.025, 1.05]
    values = [[b * f for b in budget] if isinstance(budget, list) else budget * f for f in factors]
    return {"parameters": {"policy.budget": values}}


SWEEPS = {
    # name: (default instance, sweep builder or dict, swept column for the chart, axis label)
    "budget": (PCT, budget_sweep, "policy.budget", "budget (£)"),
    "tariff": (PCT_5Y, {"parameters": {"policy.price_change": [0.0, -0.01, -0.02, -0.03, -0.04]}},
               "policy.price_change", "yearly price change"),
    "ltc_growth": (PCT_5Y, {"parameters": {"services.growth": {
        "set": [0.0, 0.01, 0.02, 0.03, 0.04], "where": {"category": "long_term_conditions"}}}},
        "services.growth", "yearly long-term-condition demand growth"),
    "quality": (PCT, {"parameters": {"services.min_quality": {"scale": [0.0, 0.5, 1.0, 1.1, 1.2]}}},
                "services.min_quality", "quality thresholds (× today's)"),
    "no_practice": (PCT, {"scenarios": {
        "practice allowed": {"policy.value_per_qaly": 20000},
        "practice forbidden": {"levels.max_services": {"set": 0, "where": {"level": "practice"}}},
        "practice and locality forbidden": {"levels.max_services": {
            "set": 0, "where": {"level": ["practice", "locality"]}}}}}, "scenario", "scenario"),
}


def run(name: str, instance_path: Path | None, out: Path, workers: int) -> pd.DataFrame:
    default, spec, column, label = SWEEPS[name]
    instance = planner.load_instance(instance_path or default)
    sweep_file = spec(instance) if callable(spec) else spec
    table = planner.sweep(instance, sweep_file, workers=workers)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / f"{name}.csv")
    chart(table, column, label, f"{name}: {instance.name}", out / f"{name}.svg")
    return table


def chart(table: pd.DataFrame, column: str, label: str, title: str, path: Path) -> None:
    """Spend, QALYs and levels used against the swept value (infeasible points left out)."""
    plt.rcParams["svg.hashsalt"] = "planner"
    solved = table.loc[table["status"].isin(["optimal", "feasible"])].copy()
    x = solved[column].map(lambda v: v[0] if isinstance(v, list) else v)
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for axis, metric, unit in zip(axes, ("spend", "qalys", "levels_used"),
                                  ("£m", "QALYs", "levels")):
        values = solved[metric] / 1e6 if metric == "spend" else solved[metric]
        if column == "scenario":
            axis.bar(range(len(values)), values)
            axis.set_xticks(range(len(values)), solved["scenario"], rotation=20, ha="right")
        else:
            axis.plot(x, values, marker="o")
            axis.set_xlabel(label)
        axis.set_title(f"{metric.replace('_', ' ')} ({unit})")
        axis.grid(alpha=0.3)
    figure.suptitle(title + f" — {len(solved)} of {len(table)} scenarios feasible")
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("name", choices=[*SWEEPS, "all"])
    parser.add_argument("--instance", type=Path, default=None, help="default: the sweep's own")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "sweeps")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    for name in (SWEEPS if args.name == "all" else [args.name]):
        table = run(name, args.instance, args.out, args.workers)
        print(f"{name}: {len(table)} scenarios -> {args.out / (name + '.csv')}, "
              f"{args.out / (name + '.svg')}")


if __name__ == "__main__":
    main()
