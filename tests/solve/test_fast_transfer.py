"""The fast transfer to HiGHS (planner.solver.fast_transfer) hands HiGHS exactly Pyomo's model.

An independent route: Pyomo's own persistent ``Highs`` transfers the same built model, and the
LP HiGHS holds (rows, column costs, bounds, integrality, objective offset) is compared entry by
entry. Then the changes a re-solve makes (the £ per QALY, a fixed variable, a sweep's mutable
price) go to both through Pyomo's ``update`` and the models must still agree: the fast
objective's Param terms and fixed variables are re-sent as Pyomo's would be.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import highspy
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.solvers.highs import Highs

import planner
from formulations import build
from planner.derive.tables import derive
from planner.solver.fast_transfer import ObjectiveTerms
from planner.solver.highs import FastHighs

ROOT = Path(__file__).resolve().parents[2]


def highs_model(solver, model) -> tuple:
    """The model HiGHS holds, keyed by Pyomo names: rows, costs, bounds and integrality.

    (Names come from iterating components: a ComponentData's own .name is O(n) to compute.)"""
    lp = solver._solver_model.getLp()
    col_of = solver._pyomo_var_to_solver_var_map
    name_of = {col_of[id(v)]: (var.name, key) for var in model.component_objects(pyo.Var)
               for key, v in var.items() if id(v) in col_of}
    matrix = lp.a_matrix_
    start, index, value = list(matrix.start_), list(matrix.index_), list(matrix.value_)
    colwise = matrix.format_ == highspy.MatrixFormat.kColwise
    by_row: dict[int, dict[str, float]] = {}
    for outer in range(len(start) - 1):
        for k in range(start[outer], start[outer + 1]):
            row, col = (index[k], outer) if colwise else (outer, index[k])
            by_row.setdefault(row, {})[name_of[col]] = value[k]
    lower, upper = list(lp.row_lower_), list(lp.row_upper_)
    row_of = solver._pyomo_con_to_solver_con_map
    rows = {(con.name, key): (lower[row_of[c]], upper[row_of[c]], by_row.get(row_of[c], {}))
            for con in model.component_objects(pyo.Constraint, active=True)
            for key, c in con.items() if c.active}  # a mutable build's idle rows are off
    cost, col_lower, col_upper = list(lp.col_cost_), list(lp.col_lower_), list(lp.col_upper_)
    integrality = list(lp.integrality_) or [0] * len(cost)  # an LP: HiGHS keeps none
    columns = {name: (cost[c], col_lower[c], col_upper[c], int(integrality[c]))
               for c, name in name_of.items()}
    return rows, columns, lp.offset_, lp.sense_


def same_model(fast, stock, model) -> None:
    """Rows and bounds exactly; costs and offset to 1e-12 relative (the two routes multiply
    λ × QALY coefficient in a different order)."""
    fast_rows, fast_cols, fast_offset, fast_sense = highs_model(fast, model)
    rows, cols, offset, sense = highs_model(stock, model)
    assert fast_rows == rows
    assert fast_sense == sense
    assert fast_offset == pytest.approx(offset, rel=1e-12, abs=1e-9)
    assert fast_cols.keys() == cols.keys()
    for name, (cost, *rest) in cols.items():
        assert fast_cols[name][1:] == tuple(rest), name
        assert fast_cols[name][0] == pytest.approx(cost, rel=1e-12, abs=1e-12), name


def built_model(folder: str, mutable: bool = False) -> pyo.ConcreteModel:
    derived = derive(planner.load_instance(ROOT / "instances" / folder))
    return build(dataclasses.replace(derived, mutable=mutable)).model


def fast_path_taken(model) -> bool:
    """Whether ObjectiveTerms reads the model's objective (else Pyomo's path does, and a
    comparison with Pyomo would compare Pyomo with itself)."""
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    return ObjectiveTerms.read(objective.expr) is not None


def both(model) -> tuple[FastHighs, Highs]:
    fast, stock = FastHighs(), Highs()
    fast.set_instance(model)
    stock.set_instance(model)
    return fast, stock


@pytest.mark.parametrize("folder", ["toy", "pct", "pct_areas", "pct_payment"])
def test_fast_transfer_gives_highs_the_same_model_as_pyomo(folder: str) -> None:
    model = built_model(folder)
    assert fast_path_taken(model)  # the toy's empty set-up costs are a constant 0, read too
    fast, stock = both(model)
    same_model(fast, stock, model)


def test_the_planners_objective_takes_the_fast_path() -> None:
    """Not a silent fallback: the objective is read by ObjectiveTerms, its QALY terms carry the
    £ per QALY Param (pct: 20,000 £/QALY) and its constant part holds every cost term."""
    model = built_model("pct")
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    terms = ObjectiveTerms.read(objective.expr)
    assert terms is not None
    assert {id(p) for _, p, _ in terms.scaled} == {id(model.value_per_qaly)}
    assert all(c < 0 for _, _, c in terms.scaled)  # − λ · QALYs
    assert len(terms.costs) > len(model.x)  # activity on every x, and the binaries' costs


def test_a_re_solve_sends_the_changes_as_pyomo_does() -> None:
    """λ from 20,000 to 35,000 £/QALY, one binary fixed at 1 (as the fixed LP of marginal values
    fixes them), then Pyomo's update on both: the models agree again, and λ really moved the
    costs (the comparison could fail)."""
    model = built_model("pct")
    fast, stock = both(model)
    before = highs_model(fast, model)[1]
    model.value_per_qaly = 35_000.0
    next(iter(model.y.values())).fix(1)
    fast.update()
    stock.update()
    same_model(fast, stock, model)
    assert highs_model(fast, model)[1] != before


def test_a_sweeps_mutable_prices_are_sent_as_pyomo_does() -> None:
    """A sweep's mutable build: every price is a Param in the objective. Prices up 10 %, and
    both routes re-send the same costs."""
    model = built_model("toy", mutable=True)
    assert fast_path_taken(model)
    fast, stock = both(model)
    same_model(fast, stock, model)
    price = next(p for p in model.component_objects(pyo.Param) if p.mutable and p.is_indexed()
                 and "price" in p.name)
    for param in price.values():
        param.value = 1.1 * param.value
    fast.update()
    stock.update()
    same_model(fast, stock, model)


def test_a_fixed_variables_new_value_reaches_the_offset_as_in_pyomo() -> None:
    """Pyomo treats a fixed variable as a parameter: its value is read whenever the parameters
    are sent, even by update_parameters alone. 3x + p·x + y with x fixed at 2 and p = 2, then
    x = 5: the offset is 3·5 + 2·5 = 25 in both (it was 10, the old value, before this was
    kept symbolic)."""
    model = pyo.ConcreteModel()
    model.x = pyo.Var(bounds=(0, 10))
    model.y = pyo.Var(bounds=(0, 10))
    model.p = pyo.Param(mutable=True, initialize=2.0)
    model.row = pyo.Constraint(expr=model.x + model.y >= 1)
    model.objective = pyo.Objective(expr=3 * model.x + model.p * model.x + model.y)
    model.x.fix(2)
    assert fast_path_taken(model)
    fast, stock = both(model)
    same_model(fast, stock, model)
    model.x.value = 5
    fast.update_parameters()
    stock.update_parameters()
    same_model(fast, stock, model)
    assert fast._solver_model.getLp().offset_ == pytest.approx(25.0)


def test_an_objective_of_another_form_takes_pyomos_path() -> None:
    """A product of two variables is not of the simple form: read by Pyomo (ObjectiveTerms
    declines it), and HiGHS still holds Pyomo's model."""
    model = pyo.ConcreteModel()
    model.a = pyo.Var(bounds=(0, 1))
    model.b = pyo.Var(bounds=(0, 1))
    model.p = pyo.Param(mutable=True, initialize=2.0)
    model.row = pyo.Constraint(expr=model.a + model.b >= 1)
    model.objective = pyo.Objective(expr=model.p * model.p * model.a + model.b)
    assert ObjectiveTerms.read(model.objective.expr) is None
    fast, stock = both(model)
    same_model(fast, stock, model)
