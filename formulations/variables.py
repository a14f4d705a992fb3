"""The model's coefficient tables and its decision variables x, y, z and w (units in
:mod:`formulations.model_data`)."""

from __future__ import annotations

import pyomo.environ as pyo

from formulations import coefficients
from formulations.model_data import ModelData


def declare_variables(m: pyo.ConcreteModel, d: ModelData) -> None:
    """The coefficient tables first (variable bounds use them), then x, y, z and w."""
    d.coef = coefficients.declare(m, d)
    n_c = len(d.derived.contracts)
    years = d.years
    upper = d.coef["demand"]
    m.x = pyo.Var([(c, t) for c in range(n_c) for t in years], domain=pyo.NonNegativeReals,
                  bounds=lambda _, c, t: (0, upper[c, t]))
    m.y = pyo.Var(range(len(d.sl_rows)), domain=pyo.Binary)
    m.z = pyo.Var([(k, t) for k in range(len(d.z_rows)) for t in years], domain=pyo.Binary)
    m.w = pyo.Var([(q, t) for q in range(len(d.w_rows)) for t in years], domain=pyo.Binary)
    d.xv, d.yv, d.zv, d.wv = (list(m.x.values()), list(m.y.values()), list(m.z.values()),
                              list(m.w.values()))
