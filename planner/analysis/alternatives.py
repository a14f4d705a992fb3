"""Near-optimal alternatives: other plans within a stated margin of the optimum.

A board rarely wants only the single best plan; it wants to know what else is nearly as good.
Each alternative differs from every earlier one in a decision a board would recognise: a service
at another level, a contract let or ended (so a provider used or dropped), never only in a few
episodes. A no-good cut over every level and contract binary says "at least one of them flips",
and a contract the optimum does not let must, to count, carry a material volume: at least
MATERIAL_SHARE of its service-level's demand (or one episode, or its whole bound if smaller).
Its objective is within ``within`` (a fraction) of the optimum. Contract binaries are declared
on every contract for this, so that "a different contract" is well defined; the optimum is
unchanged by that. Each alternative comes with a sentence saying what differs, in £ and words.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from planner.analysis.compare import PlanView, contract_changes
from planner.data.instance import Instance
from planner.data.names import Names
from planner.formats import worse_off
from planner.results.plan import Plan
from planner.solver.highs import SolveOptions
from planner.solver.session import PlanningModel

#: A contract the optimum does not let counts as a different decision only with at least this
#: share of its service-level's demand (5 %: a board notices a new provider for a twentieth).
MATERIAL_SHARE = 0.05


def alternatives(instance: Instance, count: int, within: float = 0.01,
                 options: SolveOptions | None = None,
                 without: frozenset[str] = frozenset()) -> tuple[list[Plan], pd.DataFrame]:
    """Up to ``count`` distinct plans within ``within`` of the optimum, and what differs.

    Returns the plans (optimum excluded) and a table of their differences from the optimum.
    """
    session = PlanningModel(instance, without, options or SolveOptions(),
                            all_contract_binaries=True)
    m = session.model
    # Every let contract carries activity (formulations.families, let_activity), so
    # alternatives differ in what is bought, not in empty contracts.
    first = session.run()
    if not first.has_solution:
        return [], pd.DataFrame()
    optimum = session.plan(first)
    _material(session, first)
    limit = first.objective + within * max(abs(first.objective), 1.0)
    m.near_optimal = pyo.Constraint(expr=m.objective.expr <= limit)
    m.no_good = pyo.ConstraintList()
    found: list[Plan] = []
    result = first
    while len(found) < count:
        _cut(m, result)
        result = session.run()
        if not result.has_solution:
            break
        found.append(session.plan(result))
    base = PlanView.from_plan(optimum, "optimum")
    rows = []
    for number, plan in enumerate(found, start=1):
        changes = contract_changes(base, PlanView.from_plan(plan, f"alternative {number}"))
        changes = changes.loc[changes["change"] != "same"].assign(
            alternative=number, objective=plan.objective,
            objective_gap=(plan.objective - optimum.objective) / max(abs(optimum.objective), 1.0))
        rows.append(changes)
    if not rows:  # none within the margin: the table's columns, no rows (a readable file)
        rows = [contract_changes(base, base).iloc[0:0].assign(
            alternative=pd.Series(dtype=int), objective=pd.Series(dtype=float),
            objective_gap=pd.Series(dtype=float), differs=pd.Series(dtype=str))]
    table = pd.concat(rows, ignore_index=True)
    if len(table):
        words = {n: describe(table.loc[table["alternative"] == n], optimum, plan)
                 for n, plan in enumerate(found, start=1)}
        table["differs"] = table["alternative"].map(words)
    if len(table):
        table = table[["alternative", "objective", "objective_gap", *[c for c in table.columns
                        if c not in ("alternative", "objective", "objective_gap")]]]
    return found, table


def _material(session: PlanningModel, first) -> None:
    """Contracts not let in the optimum carry a material volume if an alternative lets them."""
    m, data = session.model, session.built.data
    z_first = first.values.get("z", [])
    bound = data.coef["big_m"]
    rows = [(k, t) for (k, t), value in zip(m.z.keys(), z_first) if value < 0.5]

    def floor(k: int, t: int) -> float:
        c = int(data.z_rows[k])
        return min(float(bound[c, t]), max(1.0, MATERIAL_SHARE * float(data.demand(c, t))))

    m.alternative_material = pyo.Constraint(
        rows, rule=lambda _, k, t: m.x[data.z_rows[k], t] >= floor(k, t) * m.z[k, t])


def describe(changes: pd.DataFrame, optimum: Plan, plan: Plan) -> str:
    """What an alternative changes, in £ and words: '£2,000 a year worse off, counting health at
    £20,000 per QALY against spend and the risk charge (0.10% of the best plan's objective):
    Diabetes care moves from GP practice to PCT level; Hip replacement from County Hospital (400
    episodes); ...'. The £ is the rise of the objective, not value for money (£ per QALY)."""
    change = plan.objective - optimum.objective
    named = Names.of(optimum.instance)
    parts = []
    for row in changes.itertuples(index=False):
        service, provider = named.service(row.service), named.provider(row.provider)
        if row.change == "moved":
            parts.append(f"{service} moves from {named.level(row.level_a)} to "
                         f"{named.level(row.level_b)} level")
        elif row.change == "started":
            parts.append(f"{service} from {provider} ({_episodes(row.volume_b)})")
        elif row.change == "ended":
            parts.append(f"{service} no longer from {provider} ({_episodes(row.volume_a)})")
    used_a = set(optimum.contracts["provider"])
    used_b = set(plan.contracts["provider"])
    parts += [f"{named.provider(p)} no longer used" for p in sorted(used_a - used_b)]
    parts += [f"{named.provider(p)} newly used" for p in sorted(used_b - used_a)]
    share = change / max(abs(optimum.objective), 1.0)
    config = optimum.instance.config
    worse = worse_off(change, config.horizon, float(config.policy.value_per_qaly))
    return (f"{worse[0].upper()}{worse[1:]} ({share:.2%} of the best plan's objective): "
            + "; ".join(parts or ["volumes move between the same contracts"]))


def _episodes(volume: float) -> str:
    return f"{volume:,.0f} episodes" if abs(volume - round(volume)) < 1e-6 else \
        f"{volume:,.1f} episodes"


def _cut(m: pyo.ConcreteModel, result) -> None:
    """Exclude the level-and-contract pattern of ``result``: at least one binary must flip."""
    terms = []
    for name in ("y", "z", "block", "bundle"):  # issue 16: a payment form is a decision too
        var = getattr(m, name, None)
        if var is None:
            continue
        for data, value in zip(var.values(), result.values.get(name, [])):
            terms.append((1 - data) if value > 0.5 else data)
    m.no_good.add(pyo.quicksum(terms) >= 1)
