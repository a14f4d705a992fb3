"""Rows the rules imply, added only to tighten the LP relaxation: how many contracts a level
needs, and that a used provider lets one (:func:`add_provider_contracts`).

Why: at region scale most of the gap between HiGHS's bound and the best plan is transaction
cost (£191k–£285k a contract at locality and PCT level). In the LP relaxation a service-level
can meet its demand with every contract let a little, z = x/M, and so pay a fraction of each
contract's cost; a real plan lets whole contracts, and needs at least as many as it takes for
their capacities to cover the demand (and the choice headroom). That count follows from the
rules alone, so stating it removes fractional plans and no integer one (docs/model.md,
"Formulation notes"; scripts/bench_tightening.py measures it).

Contract count, by service-level j and year t where it says more than the rules' own rows
(n ≥ 2): ``contract_count`` with the demand's n, and ``headroom_count`` with the headroom's where
that is larger (a marginal-value re-solve that drops a service's headroom row drops these too,
:func:`planner.analysis.marginal`):

.. math::

    \\sum_{c \\in K_j} z_{ct} \\;\\ge\\; n_{jt}\\, y_j,
    \\qquad n_{jt} = \\max\\big(n(M_{\\cdot t}, D_{jt}),\\; n(H_{\\cdot t}, (1+h_s) D_{jt})\\big),

where :math:`n(a, b)` is the fewest of the values :math:`a_c` (largest first) whose sum reaches
:math:`b`, at most :math:`|K_j|`.

===================  =====================================================================
symbol               meaning
===================  =====================================================================
:math:`K_j`          the eligible contracts of service-level j (each with a binary z)
:math:`z_{ct}`       contract c let in year t (binary)
:math:`y_j`          service-level j chosen (binary)
:math:`M_{ct}`       the most contract c can carry (episodes; the big-M of ``link_x_z``)
:math:`D_{jt}`       j's demand in year t (episodes)
:math:`H_{ct}`       what contract c counts towards the choice headroom, min(cap, (1+h)·D)
:math:`h_s`          the service's ``choice_headroom`` (0: no headroom term)
===================  =====================================================================

Valid because, with :math:`y_j = 1`, the demand row :math:`\\sum x = D y` and
:math:`x_c \\le M_c z_c` make the let contracts' M add up to at least D, and the headroom row
(its other levels' contracts are closed, z ≤ y) makes their H add up to at least (1+h)D; with
:math:`y_j = 0` the row says 0 ≥ 0. It is left out wherever that argument does not hold, or
holds only for today's numbers:

* a service-level some of whose contracts have no z, one partly covered or moved by effects
  (issue 15, its demand row is not D·y), one with a block contract or in a bundle (issue 16);
* a mutable build (a sweep re-sets demand and capacity without rebuilding);
* an elastic model (``Derived.tighten`` False: diagnosis relaxes demand, capacity and headroom,
  which this row would keep in force).

It leaves out ``min_providers`` (its own row already says Σ z ≥ min_providers·y), so a re-solve
that relaxes that row (marginal values) is not held to it here; the headroom's count is a row of
its own for the same reason. The row has no marginal value
and is never relaxed; with every binary fixed (the marginal-value LP) it is implied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from formulations.model_data import ModelData
from formulations.rows import at_most, linear, rows
from planner.rules import ABS_TOL, REL_TOL, Family


def fewest_to_cover(values: np.ndarray, group: np.ndarray, target: np.ndarray) -> np.ndarray:
    """By group (0 … G−1): the fewest of its ``values``, largest first, whose sum reaches the
    group's ``target`` (at most the group's size; 0 where the target is 0 or less). Reaching it
    to within verify's tolerance counts (ABS_TOL + REL_TOL·target episodes): capacities that tile
    the demand exactly sum short of it in floating point at England's 10⁸ episodes, and a count
    one too high would cut off a plan verify accepts; a looser tolerance only weakens the row."""
    frame = pd.DataFrame({"group": group, "value": values})
    frame = frame.sort_values(["group", "value"], ascending=[True, False], kind="stable")
    before = frame.groupby("group")["value"].cumsum().to_numpy() - frame["value"].to_numpy()
    reach = target[frame["group"].to_numpy()]
    short = before < reach - (ABS_TOL + REL_TOL * np.abs(reach))
    return np.bincount(frame["group"].to_numpy()[short], minlength=len(target))


def stated(d: ModelData) -> bool:
    """Whether this module's rows are stated at all: not in a mutable build (a sweep re-sets
    demand and capacity without rebuilding), not in an elastic one (``Derived.tighten`` False),
    and only where contracts have binaries."""
    return not d.derived.mutable and d.derived.tighten and bool(len(d.z_rows))


def counted_levels(d: ModelData) -> np.ndarray:
    """The service-levels (positions of y) the count may be stated for (module docstring)."""
    derived = d.derived
    eligible = np.ones(len(d.sl_rows), dtype=bool)
    y_of = d.y_of_contract
    without_z = np.ones(len(derived.contracts), dtype=bool)
    without_z[d.z_rows] = False
    eligible[np.unique(y_of[without_z])] = False
    if d.shifting is not None:
        eligible[list(d.shifting.covered) + list(d.shifting.target_of)] = False
    if d.payment is not None:
        eligible[np.unique(y_of[d.payment.blocks])] = False
        bundled = d.payment.bundle_rows
        if len(bundled):
            position = {int(r): j for j, r in enumerate(d.sl_rows)}
            eligible[[position[int(s)] for s in bundled["sl"]]] = False
    return np.flatnonzero(eligible)


def add_contract_count(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Σ z over a service-level's contracts ≥ n·y, by service-level and year (module docstring):
    ``contract_count`` with n from the demand, ``headroom_count`` where the headroom needs more
    (apart, so that a re-solve dropping a headroom row drops its count too)."""
    derived = d.derived
    if not stated(d):
        m.contract_count, m.headroom_count = rows([], ()), rows([], ())
        return
    levels = counted_levels(d)
    z_rows = d.z_rows
    y_of_z = d.y_of_contract[z_rows]
    keep = np.isin(y_of_z, levels)
    k_kept, j_kept = np.flatnonzero(keep), y_of_z[keep]
    services = derived.services.set_index("service")
    headroom = derived.service_levels.loc[d.sl_rows, "service"].map(
        services["choice_headroom"]).fillna(0.0).to_numpy(float)
    use_headroom = d.on(Family.HEADROOM)
    size = np.bincount(j_kept, minlength=len(d.sl_rows))
    big_m, demand, cover, need = (np.asarray(d.coef[name].values, dtype=float) for name in (
        "big_m", "sl_demand", "headroom_cover", "headroom_need"))
    c_kept = z_rows[k_kept]
    members = pd.Series(k_kept).groupby(j_kept).agg(list)
    demand_rows, headroom_rows = ([], []), ([], [])
    for t in d.years:
        by_demand = np.minimum(fewest_to_cover(big_m[c_kept, t], j_kept, demand[:, t]), size)
        by_headroom = np.minimum(fewest_to_cover(
            cover[c_kept, t], j_kept, np.where(headroom > 0, need[:, t], 0.0)), size) \
            if use_headroom else np.zeros_like(by_demand)
        for count, (index, bodies), wanted in (
                (by_demand, demand_rows, by_demand >= 2),
                (by_headroom, headroom_rows, (by_headroom >= 2) & (by_headroom > by_demand))):
            for j in np.flatnonzero(wanted):
                index.append((int(j), t))
                bodies.append(at_most(linear([(float(count[j]), d.yv[j])]
                                             + [(-1.0, d.z(k, t)) for k in members[j]])))
    m.contract_count = rows(*demand_rows)
    m.headroom_count = rows(*headroom_rows)


def contracted_providers(d: ModelData) -> list[str]:
    """The providers (keys of ``d.w_of``) whose use implies a let contract: every contract of
    theirs has a z, they hold no block contract and are in no bundle, and a used provider
    delivers some episodes (min_volume > 0 in every year)."""
    derived = d.derived
    if not stated(d):
        return []
    excluded: set[str] = set()
    contracts = derived.contracts
    if d.payment is not None:
        excluded |= set(contracts["provider"].to_numpy()[d.payment.blocks])
        bundled = d.payment.bundle_rows
        if len(bundled):
            excluded |= set(bundled["provider"])
    min_volume = np.asarray(d.coef["min_volume"].values, dtype=float)
    out = []
    for p, q in d.w_of.items():
        mine = d.by_provider.get(p, ())
        if p in excluded or not len(mine) or not (min_volume[q] > 0).all():
            continue
        if all(int(c) in d.z_of for c in mine):
            out.append(p)
    return out


def add_provider_contracts(m: pyo.ConcreteModel, d: ModelData) -> None:
    """w_pt ≤ Σ z over p's contracts, by provider and year: a provider used lets a contract.

    Why: a used provider delivers at least min_volume_p > 0 episodes (``provider_use``) and a
    contract carries episodes only if let (x ≤ M·z), so w = 1 implies some z = 1. The LP
    relaxation instead keeps an incumbent (avoiding its exit cost) with one episode on a
    contract let 1/M of the way, paying 1/M of its transaction cost; at England scale that
    is hundreds of incumbents kept for a fraction of the £0.1m–£2.3m a contract costs. Stated
    only where the argument holds (:func:`contracted_providers`)."""
    index, bodies = [], []
    for p in contracted_providers(d):
        q = d.w_of[p]
        ks = [d.z_of[int(c)] for c in d.by_provider[p]]
        for t in d.years:
            index.append((p, t))
            bodies.append(at_most(linear([(1.0, d.w(q, t))] + [(-1.0, d.z(k, t)) for k in ks])))
    m.provider_contracts = rows(index, bodies)


def add_tightening(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Every row of this module: the contract counts and the providers' contracts."""
    add_contract_count(m, d)
    add_provider_contracts(m, d)


def implied_by_headroom(m: pyo.ConcreteModel, d: ModelData, service: str, t: int) -> list:
    """The ``headroom_count`` rows of ``service`` in year ``t``: what a re-solve that drops the
    service's headroom row must drop with it (the demand's count still holds)."""
    counts = getattr(m, "headroom_count", {})
    return [counts[j, t] for j in d.y_by_service.get(service, ()) if (j, t) in counts]
