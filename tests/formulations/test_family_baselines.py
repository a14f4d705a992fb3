"""An LP baseline per rule family: the rows each family writes on the toy instance, by meaning.

For every family of :data:`formulations.registry.REGISTRY` that writes rows, the toy model's
rows of that family are written in a canonical, readable form and compared with the stored
file ``tests/formulations/baselines/<family>.txt``; the toy with every single-year rule set
(:func:`toy_rules`) is stored in ``baselines/toy_rules/<family>.txt`` and, for the multi-year
families, the three-year toy (:func:`toy_3y`) in ``baselines/toy_3y/<family>.txt``. A row reads

    demand[0,0]: +1 x[0,0] +1 x[1,0] -400 y[0] = 0

the row's name, its terms sorted by variable name (coefficients to 10 significant digits), its
sense and bound. The form is canonical, not Pyomo's internal one: a constant in the body is
moved to the bound, a row with only a lower bound is negated into a ≤ row, an equality whose
first term is negative is negated, and rows are sorted by name. So a change in how a row is
built (operators or the vectorised builder, the order of its terms) does not show, and a change
in what it says does, as a readable diff of that family's file.

Regenerate after an intended change with

    PLANNER_UPDATE_BASELINES=1 PYTHONPATH=. python -m pytest tests/formulations/test_family_baselines.py

and commit the changed baseline files with a commit message saying why the family's rows
changed (a changed baseline without a reason is a behaviour change nobody asked for).
The pinned counts of the toy model (26 variables, 17 binaries, 53 constraints) are checked too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

import planner
from formulations import build
from formulations.registry import COMPONENTS, REGISTRY
from planner.data.schema import SettingTarget
from planner.derive.tables import derive

ROOT = Path(__file__).resolve().parents[2]
BASELINES = Path(__file__).resolve().parent / "baselines"
UPDATE = os.environ.get("PLANNER_UPDATE_BASELINES") == "1"
TOY_COUNTS = {"variables": 26, "binaries": 17, "constraints": 53}  # +3: provider_contracts


def _number(value: float) -> str:
    text = f"{float(value):+.10g}"
    return "+0" if text in ("-0", "+0") else text


def _name(component) -> str:
    """A row's or variable's name, offers written provider/service (Pyomo writes their key's
    separator as the escape \\x1f, and quotes string keys)."""
    return component.name.replace("\\x1f", "/").replace("\x1f", "/").replace("'", "")


def canonical_row(con) -> str:
    """One row as ``name: terms sense bound`` (see the module docstring)."""
    repn = generate_standard_repn(con.body, compute_values=True)
    terms: dict[str, float] = {}
    for var, coef in zip(repn.linear_vars, repn.linear_coefs):
        terms[_name(var)] = terms.get(_name(var), 0.0) + float(coef)
    if repn.nonlinear_expr is not None or repn.quadratic_vars:
        raise AssertionError(f"{con.name} is not linear")
    constant = float(repn.constant)
    lower = None if con.lower is None else float(pyo.value(con.lower)) - constant
    upper = None if con.upper is None else float(pyo.value(con.upper)) - constant
    items = sorted((name, coef) for name, coef in terms.items() if coef != 0.0)
    if con.equality:
        sense, bound = "=", upper
        if items and items[0][1] < 0:
            items, bound = [(n, -c) for n, c in items], -bound
    elif upper is None:  # lower ≤ body  ⇔  −body ≤ −lower
        items, sense, bound = [(n, -c) for n, c in items], "<=", -lower
    elif lower is None:
        sense, bound = "<=", upper
    else:
        return f"{_name(con)}: {_number(lower)} <= {_body(items)} <= {_number(upper)}"
    return f"{_name(con)}: {_body(items)} {sense} {_number(bound)}"


def _body(items: list[tuple[str, float]]) -> str:
    return " ".join(f"{_number(coef)} {name}" for name, coef in items) or "0"


def family_text(model: pyo.ConcreteModel, spec) -> str:
    """The family's rows on ``model``, component by component, each sorted by name."""
    lines = [f"# family {spec.name}" + (f" (--without {spec.switch})" if spec.switch else "")]
    for rows in spec.rows:
        component = getattr(model, rows.component, None)
        count = 0 if component is None else len(component)
        lines.append(f"## {rows.component}: {count} rows, in {rows.unit}, by {rows.subject}")
        if component is not None:
            lines += sorted(canonical_row(con) for con in component.values())
    return "\n".join(lines) + "\n"


def toy_3y() -> planner.Instance:
    """The toy over three years: carry-forward break-even, two-year contracts, prices −2 % a
    year, a 5 % yearly demand growth and half of primary care in the community (so the
    multi-year families have rows)."""
    toy = planner.load_instance(ROOT / "instances" / "toy")
    target = SettingTarget(category="primary", settings=["community"], min_share=0.5)
    policy = toy.config.policy.model_copy(update={
        "break_even": "carry_forward", "min_contract_years": 2, "price_change": -0.02,
        "demand_growth": 0.05, "setting_targets": [target]})
    config = toy.config.model_copy(update={"horizon": 3, "policy": policy})
    return planner.Instance(config, toy.levels, toy.services, toy.providers, toy.offers,
                            toy.level_effects)


def toy_rules() -> planner.Instance:
    """The toy with every single-year rule set, so each family has rows: diabetes care needs an
    average quality of 0.85, a 20 % minimum share and at most 2 providers; GP consultations at
    least 2 providers and 10 % headroom; a practice commissions at most 1 service; the PCT has
    a delegated budget of £1.3m; the county hospital 25 resource units; transaction costs are
    capped at £10,000 a year."""
    toy = planner.load_instance(ROOT / "instances" / "toy")
    services = toy.services.set_index("service")
    services.loc["diabetes_care", ["min_avg_quality", "min_share", "max_providers"]] = [0.85, 0.2, 2]
    services.loc["gp_consultations", ["min_providers", "choice_headroom"]] = [2, 0.1]
    levels = toy.levels.set_index("level")
    levels.loc["practice", "max_services"] = 1
    levels.loc["pct", "delegated_budget"] = 1_300_000.0
    providers = toy.providers.set_index("provider")
    providers.loc["county_hospital", "total_capacity"] = 25.0
    policy = toy.config.policy.model_copy(update={"management_cost_cap": 10_000.0})
    config = toy.config.model_copy(update={"policy": policy})
    return planner.Instance(config, levels.reset_index(), services.reset_index(),
                            providers.reset_index(), toy.offers, toy.level_effects)


def toy_areas() -> planner.Instance:
    """The toy with two areas (issue 17), so the area families have rows: north (6,000 people,
    need 1.2, qaly_weight 1) and south (4,000, need 0.7, qaly_weight 1.5); diabetes care optional
    and partly covered (min_coverage 0.5, min_area_coverage 0.6); riverside's diabetes offer
    serves north only; a fair-share band of 0.3; the PCT level pooled with £50,000 a year from
    the local authority."""
    toy = planner.load_instance(ROOT / "instances" / "toy")
    services = toy.services.set_index("service")
    services.loc["diabetes_care", ["mandatory", "min_coverage", "min_area_coverage"]] = [
        False, 0.5, 0.6]
    offers = toy.offers.copy()
    offers["areas"] = [("north",) if (p, s) == ("riverside_federation", "diabetes_care") else ()
                       for p, s in zip(offers["provider"], offers["service"])]
    levels = toy.levels.copy()
    levels["pooled"] = levels["level"] == "pct"
    areas = pd.DataFrame({"area": ["north", "south"], "population": [6000.0, 4000.0],
                          "need_index": [1.2, 0.7], "qaly_weight": [1.0, 1.5]})
    policy = toy.config.policy.model_copy(update={"fair_share_band": 0.3,
                                                  "la_contribution": 50_000.0})
    config = toy.config.model_copy(update={"policy": policy})
    return planner.Instance.from_frames(config, levels, services.reset_index(), toy.providers,
                                        offers, toy.level_effects, areas=areas)


CASES = {"toy": lambda: planner.load_instance(ROOT / "instances" / "toy"), "toy_3y": toy_3y,
         "toy_rules": toy_rules, "toy_areas": toy_areas}
AREA_FAMILIES = ("areas", "area_coverage", "fair_share", "demand", "budget")
BUILT: dict[str, object] = {}


def model_of(case: str):
    if case not in BUILT:
        BUILT[case] = build(derive(CASES[case]()))
    return BUILT[case]


def baseline_path(case: str, name: str) -> Path:
    return BASELINES / f"{name}.txt" if case == "toy" else BASELINES / case / f"{name}.txt"


WRITING = [spec for spec in REGISTRY if spec.add is not None]
PARAMS = [("toy", spec) for spec in WRITING if not spec.several_years] + [
    ("toy_rules", spec) for spec in WRITING if not spec.several_years] + [
    ("toy_3y", spec) for spec in WRITING if spec.several_years or spec.name == "budget"] + [
    ("toy_areas", spec) for spec in WRITING if spec.name in AREA_FAMILIES]


@pytest.mark.parametrize(("case", "spec"), PARAMS, ids=[f"{c}-{s.name}" for c, s in PARAMS])
def test_family_rows_match_the_baseline(case: str, spec) -> None:
    text = family_text(model_of(case).model, spec)
    path = baseline_path(case, spec.name)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no baseline {path}: run with PLANNER_UPDATE_BASELINES=1"
    stored = path.read_text(encoding="utf-8")
    assert text == stored, (f"the rows of family {spec.name} changed on {case}: regenerate with "
                            "PLANNER_UPDATE_BASELINES=1 and say why in the commit message")


@pytest.mark.parametrize("case", list(CASES))
def test_every_row_belongs_to_a_registered_family(case: str) -> None:
    """No constraint component outside the registry (a family added without its entry)."""
    model = model_of(case).model
    names = {c.local_name for c in model.component_objects(pyo.Constraint, active=True)}
    assert names - set(COMPONENTS) == set()


def test_toy_counts_hold() -> None:
    assert model_of("toy").counts() == TOY_COUNTS


def test_canonical_form_is_by_meaning() -> None:
    """The same row written four ways reads the same: x − 2y ≤ 3, −3 ≤ 2y − x, with a
    constant in the body (x − 2y + 1 ≤ 4), and with its terms in the other order."""
    m = pyo.ConcreteModel()
    m.x, m.y = pyo.Var(), pyo.Var()
    m.a = pyo.Constraint(expr=m.x - 2 * m.y <= 3)
    m.b = pyo.Constraint(expr=2 * m.y - m.x >= -3)
    m.c = pyo.Constraint(expr=m.x - 2 * m.y + 1 <= 4)
    m.d = pyo.Constraint(expr=-2 * m.y + m.x <= 3)
    forms = {canonical_row(getattr(m, n)).split(": ", 1)[1] for n in "abcd"}
    assert forms == {"+1 x -2 y <= +3"}
    m.e = pyo.Constraint(expr=-m.x + 2 * m.y == -3)
    assert canonical_row(m.e) == "e: +1 x -2 y = +3"


def test_rows_derived_by_hand() -> None:
    """Two rows of toy_rules worked out from the CSVs, independently of the baselines.

    Headroom on GP consultations (demand 40,000 episodes, headroom 10 %): the chosen level must
    be covered 1.1 × 40,000 = 44,000 episodes by the let contracts, each counting
    min(capacity, 1.1 × demand): Riverside 30,000 (twice: practice and PCT contracts), High
    Street 40,000. The PCT's delegated budget (£1.3m): its contracts' prices (£260, £200,
    £180 diabetes care; £30, £29 GP; £6,000 hip) and its £2,000 transaction cost per contract.
    """
    model = model_of("toy_rules").model
    assert canonical_row(model.headroom["gp_consultations", 0]) == (
        "headroom[gp_consultations,0]: +44000 y[0] +44000 y[1] -30000 z[5,0] -40000 z[6,0] "
        "-30000 z[7,0] <= +0")
    row = canonical_row(model.delegated_budget["pct", 0])
    assert row.endswith("<= +1300000") and "+6000 x[8,0]" in row and "+260 x[2,0]" in row
    assert row.count("+2000 z[") == 6
