"""Provider failure: re-plan without the failed providers, from the plan already in place.

Why: "steps to deal with failure need to be in place before it happens". A board wants to know
what it would cost to recover if a large provider failed, which services would be left without
anyone to provide them, and what then holds the plan back.

How (docs/outputs.md, "planner stress"):

1. The base plan is solved (or given).
2. The stressed instance is the base instance *after the base plan is in place*:
   - the failed providers and all their offers are removed, so they cost nothing to leave
     (no exit cost) and can hold no contract;
   - every other offer's ``incumbent_volume`` is the base plan's volume on it (0 if the plan
     does not use it), and a provider is ``incumbent`` exactly when the plan uses it. So the
     plan's surviving contracts are kept where possible at no new set-up or entry cost, a provider
     the plan uses and the recovery drops costs its exit cost, and a provider brought in for the
     recovery pays its entry and set-up costs;
   - demand, prices, levels and the policy are unchanged.
3. It is re-solved (a real HiGHS solve, verified like any plan). Its MIP start is the greedy
   start, which now begins from the surviving contracts (they are the status quo).
4. The cost of recovery is the stressed plan's spend minus the base plan's running spend
   (its spend less the one-off set-up, entry and exit costs of getting from today to the plan):
   what the failure adds to a year's spend once the plan is in place (£ a year).

A mandatory service whose every offer came from failed providers cannot be commissioned at all:
that is reported as "infeasible" with the precheck's words (``constraint`` eligibility), and the
rest of the plan is still re-solved with those services set aside, so its recovery cost is known.
Optional services the base plan bought but the stressed plan does not are listed with the reason
:mod:`planner.analysis.unfunded` gives. Binding rules of the stressed plan are those of the report
(:func:`planner.summary.binding`: the budget, providers at break-even, non-zero marginal values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner.data.instance import Instance
from planner.errors import InputError, Problem
from planner.results.plan import Plan

ONE_OFF = ("setup_costs", "entry_costs", "exit_costs", "notice_costs")
STRESS_COLUMNS = ["failed", "status", "spend", "base_running_spend", "recovery_cost",
                  "objective", "services_without_provider", "services_dropped", "binding",
                  "message"]


@dataclass
class StressResult:
    """One failure scenario: the failed providers, the stressed plan and what it means."""

    failed: tuple[str, ...]
    status: str  # optimal | feasible | infeasible | time_limit | error
    base_running_spend: float
    plan: Plan | None
    #: services no surviving provider can serve (in full): diagnosis-style rows, precheck words
    without_provider: list[dict[str, Any]] = field(default_factory=list)
    #: the stressed solve's own diagnosis (its relaxations marked alone) when it is infeasible
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)  # optional services lost
    binding: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def spend(self) -> float | None:
        return None if self.plan is None or not self.plan.has_solution else \
            float(self.plan.totals["spend"])

    @property
    def recovery_cost(self) -> float | None:
        return None if self.spend is None else self.spend - self.base_running_spend

    def row(self) -> dict[str, Any]:
        """stress.csv's row."""
        return {"failed": ";".join(self.failed), "status": self.status, "spend": self.spend,
                "base_running_spend": self.base_running_spend,
                "recovery_cost": self.recovery_cost,
                "objective": None if self.plan is None else self.plan.objective,
                "services_without_provider": ";".join(r["subject"] for r in self.without_provider),
                "services_dropped": ";".join(self.dropped["service"]) if len(self.dropped) else "",
                "binding": ";".join(f"{r.constraint}:{r.subject}"
                                    for r in self.binding.itertuples(index=False)),
                "message": self.message()}

    def message(self) -> str:
        from planner.formats import money

        names = ", ".join(self.failed)
        if self.status == "infeasible":
            said = [r["message"].removeprefix("Or: ").rstrip(".")
                    for r in self.without_provider + self.diagnosis]
            text = f"If {names} failed, no plan would meet every rule: " + "; ".join(said) + "."
            if self.recovery_cost is not None:
                text += (f" Without those services the rest of the plan would spend "
                         f"{money(self.spend)} a year ({money(self.recovery_cost)} against the "
                         "plan's running spend).")
            return text
        if self.recovery_cost is None:
            return f"If {names} failed, no plan would be found ({self.status})."
        text = f"If {names} failed, recovering would cost {money(self.recovery_cost)} a year"
        if len(self.dropped):
            text += "; optional services no longer bought: " + ", ".join(self.dropped["service"])
        return text + "."

    def to_json(self) -> dict[str, Any]:
        return {**self.row(), "failed": list(self.failed),
                "without_provider": self.without_provider, "diagnosis": self.diagnosis,
                "dropped": self.dropped.to_dict(orient="records"),
                "binding_rules": self.binding.to_dict(orient="records")}


def check_providers(instance: Instance, failed: list[str]) -> None:
    """Exit 2 for a provider id the instance does not have."""
    known = set(instance.providers["provider"])
    unknown = [p for p in failed if p not in known]
    if unknown:
        from planner.data.references import _did_you_mean

        raise InputError([Problem("providers", f"--fail names provider '{p}', which providers.csv "
                                  "does not have.", _did_you_mean(p, known) or
                                  "Give a provider id of providers.csv.", row=p) for p in unknown])


def largest_providers(plan: Plan, k: int) -> list[str]:
    """The K providers the plan pays most (first year), largest first."""
    providers = plan.providers
    first = providers.loc[providers["year"] == providers["year"].min()]
    ranked = first.loc[first["income"] > 0].sort_values(["income", "provider"],
                                                         ascending=[False, True], kind="stable")
    return ranked["provider"].head(k).tolist()


def after_plan(instance: Instance, plan: Plan, failed: list[str],
               optional: frozenset[str] = frozenset()) -> Instance:
    """The instance once ``plan`` is in place and ``failed`` providers are gone (module doc);
    services in ``optional`` are made not mandatory (they can no longer be provided)."""
    first = plan.contracts.loc[plan.contracts["year"] == plan.contracts["year"].min()]
    volume = first.groupby(["provider", "service"])["volume"].sum()
    offers = instance.offers.loc[~instance.offers["provider"].isin(failed)].copy()
    key = pd.MultiIndex.from_frame(offers[["provider", "service"]])
    offers["incumbent_volume"] = volume.reindex(key).fillna(0.0).to_numpy()
    providers = instance.providers.loc[~instance.providers["provider"].isin(failed)].copy()
    providers["incumbent"] = providers["provider"].isin(set(first["provider"]))
    services = instance.services.copy()
    services.loc[services["service"].isin(optional), "mandatory"] = False
    tables = {"levels": instance.levels, "services": services, "providers": providers,
              "offers": offers, "level_effects": instance.level_effects}
    return Instance.from_frames(instance.config, **{k: _as_text(v) for k, v in tables.items()})


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed table back as the cells a user would write (from_frames parses them again)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.map(lambda v: isinstance(v, tuple)).any():
            out[column] = values.map(lambda v: ";".join(v) if isinstance(v, tuple) else v)
    return out.astype(object).where(out.notna(), None)


def running_spend(plan: Plan) -> float:
    """The base plan's spend less its one-off costs of moving from today (£ a year)."""
    first = str(min(int(y) for y in plan.totals_by_year)) if plan.totals_by_year else None
    totals = plan.totals_by_year.get(first) if first else plan.totals
    return float(totals["spend"]) - sum(float(totals.get(k) or 0.0) for k in ONE_OFF)


def _unprovided(instance: Instance, failed: list[str]) -> list[str]:
    """Mandatory services with demand whose every offer is from a failed provider."""
    offers = instance.offers
    left = set(offers.loc[~offers["provider"].isin(failed), "service"])
    services = instance.services
    lost = services.loc[services["mandatory"].astype(bool) & (services["demand"] > 0)
                        & ~services["service"].isin(left)]
    return lost["service"].tolist()


def stress(instance: Instance, failed: list[str], base: Plan | None = None,
           **options: Any) -> StressResult:
    """Fail ``failed`` providers together and re-plan from ``base`` (solved if not given).
    ``options`` go to :func:`planner.solve` (time_limit, gap, ...)."""
    from planner import api

    check_providers(instance, failed)
    base = base or api.solve(instance, **options)
    if not base.has_solution:
        raise InputError(Problem("instance", f"has no plan to stress ({base.status}).",
                                 "Solve it first ('planner solve') and relax what the diagnosis says."))
    lost = _unprovided(instance, failed)
    rows = [_lost_row(instance, service, failed) for service in lost]
    try:
        stressed = after_plan(instance, base, failed, optional=frozenset(lost))
    except InputError as exc:  # the surviving data do not validate: say so in their words
        raise InputError([Problem(p.table, f"after {', '.join(failed)} fail: {p.message}", p.fix,
                                  row=p.row, column=p.column) for p in exc.problems]) from exc
    rows += _precheck_rows(stressed, failed)
    if len(rows) > len(lost):  # capacity the survivors cannot make up: no re-solve can help
        return StressResult(tuple(failed), "infeasible", running_spend(base), None, rows)
    plan = api.solve(stressed, marginal=True, marginal_time=options.get("time_limit") or 30.0,
                     **{k: v for k, v in options.items() if k != "marginal"})
    infeasible = bool(lost) or plan.status == "infeasible"
    result = StressResult(tuple(failed), "infeasible" if infeasible else plan.status,
                          running_spend(base), plan, rows)
    if plan.has_solution:
        dropped = _dropped(base, plan)
        result.dropped = dropped.loc[~dropped["service"].isin(lost)].reset_index(drop=True)
        result.binding = _binding(stressed, plan)
    elif plan.diagnosis:
        result.diagnosis += [{k: r.get(k) for k in ("constraint", "subject", "amount", "unit",
                                                           "alone", "message")}
                             for r in plan.diagnosis.get("relaxations", []) if r.get("alone")]
    return result


def _precheck_rows(instance: Instance, failed: list[str]) -> list[dict[str, Any]]:
    """The prechecks' problems of the stressed instance (mandatory demand the surviving
    providers cannot meet) as diagnosis rows, in the prechecks' words."""
    from planner.derive import derive
    from planner.derive.prechecks import precheck

    out = []
    for problem in precheck(derive(instance)):
        family = "offer_capacity" if "capacity" in problem.message else "eligibility"
        out.append({"constraint": family, "subject": problem.row or problem.table, "amount": None,
                    "unit": "episodes" if family == "offer_capacity" else "providers",
                    "alone": True,
                    "message": f"Once {_fail(failed)}, {problem.row}: {problem.message} "
                               f"{problem.fix}"})
    return out


def _fail(failed: list[str]) -> str:
    return f"{', '.join(failed)} {'fails' if len(failed) == 1 else 'fail'}"


def _lost_row(instance: Instance, service: str, failed: list[str]) -> dict[str, Any]:
    """A diagnosis row for a mandatory service no surviving provider offers (precheck's words)."""
    from planner.data.names import Names

    name = Names.of(instance).service(service)
    return {"constraint": "eligibility", "subject": service, "amount": 1.0, "unit": "providers",
            "alone": True,
            "message": (f"{name} is mandatory, but no provider offers it once "
                        f"{_fail(failed)}: add an offer for it (a new provider, or an "
                        "emergency contract), or make it not mandatory.")}


def _dropped(base: Plan, plan: Plan) -> pd.DataFrame:
    """Optional services the base plan bought that the stressed plan does not, with why."""
    def bought(p: Plan) -> set[str]:
        services = p.services
        return set(services.loc[services["commissioned"], "service"])

    gone = sorted(bought(base) - bought(plan))
    reasons = plan.unfunded if plan.unfunded is not None else pd.DataFrame(columns=["service"])
    reasons = reasons.set_index("service") if len(reasons) else reasons
    return pd.DataFrame({"service": gone,
                         "reason": [reasons.at[s, "reason"] if s in getattr(reasons, "index", ())
                                    else "" for s in gone],
                         "message": [reasons.at[s, "message"] if s in getattr(reasons, "index", ())
                                     else "" for s in gone]}, columns=["service", "reason", "message"])


def _binding(instance: Instance, plan: Plan) -> pd.DataFrame:
    """The stressed plan's binding rules, as the report finds them."""
    from planner.reports.summary import PlanFiles, binding

    tables = {name: getattr(plan, name) for name in ("contracts", "services", "providers",
                                                     "levels", "budget")}
    if plan.marginal_values is not None:
        tables["marginal_values"] = plan.marginal_values
    files = PlanFiles(name=instance.name, plan=plan.to_json(), tables=tables, instance=instance)
    rules = binding(files)  # an episode's marginal cost (demand) is no rule holding the plan back
    return rules.loc[rules["constraint"] != "demand"].reset_index(drop=True)


def stress_largest(instance: Instance, k: int, base: Plan | None = None,
                   **options: Any) -> tuple[Plan, list[StressResult]]:
    """Fail each of the K providers the plan pays most, one at a time (stress.csv's rows)."""
    from planner import api

    base = base or api.solve(instance, **options)
    if not base.has_solution:
        raise InputError(Problem("instance", f"has no plan to stress ({base.status}).",
                                 "Solve it first ('planner solve') and relax what the diagnosis says."))
    return base, [stress(instance, [p], base, **options) for p in largest_providers(base, k)]


def stress_table(results: list[StressResult]) -> pd.DataFrame:
    return pd.DataFrame([r.row() for r in results], columns=STRESS_COLUMNS)
