"""Sweeps and Pareto fronts: results equal separate solves, resume, Dask, clear override errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

import planner
from planner.analysis.pareto import pareto_front
from planner.errors import InputError
from planner.solver.highs import SolveOptions
from planner.sweeps import runner as sweep_module
from planner.sweeps.scenarios import apply, load_sweep, scenarios
from planner.sweeps.store import file_names

pytestmark = pytest.mark.solver

SWEEP = {
    "mode": "product",
    "parameters": {
        "policy.budget": [1_390_000, 1_400_000, 1_450_000],
        "services.demand": {"scale": [0.9, 1.0], "where": {"category": "primary"}},
    },
    "scenarios": {"no_practice": {"levels.max_services": {"set": 0, "where": {"level": "practice"}}}},
}


@pytest.fixture(scope="module")
def toy() -> planner.Instance:
    return planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")


@pytest.fixture(scope="module")
def results(toy: planner.Instance) -> pd.DataFrame:
    return planner.sweep(toy, SWEEP)


def test_sweep_equals_separate_solves(toy: planner.Instance, results: pd.DataFrame) -> None:
    """Every row (persistent re-solve or rebuild) equals a fresh solve of that scenario."""
    assert list(results["scenario"]) == ["s1", "s2", "s3", "s4", "s5", "s6", "no_practice"]
    assert not results["rebuilt"].all()  # budget-only changes re-used a built model
    for scenario in scenarios(load_sweep(SWEEP)):
        fresh = planner.solve(apply(toy, scenario))
        row = results.set_index("scenario").loc[scenario.name]
        assert row["status"] == fresh.status
        assert row["objective"] == approx(fresh.objective, rel=1e-9)
        assert row["spend"] == approx(fresh.totals["spend"], rel=1e-9)


def test_swept_values_and_hand_checks(results: pd.DataFrame) -> None:
    """Base demand and budget £1.4m give the toy optimum £1,383,000 with no contract changed;
    at £1.39m the plan still fits (spend £1,383,000); forbidding practice-level commissioning
    moves diabetes care to PCT level: +£10,000 (500 × £180 + £2,000 vs 450 × £180 + £1,000)."""
    table = results.set_index("scenario")
    assert table.loc["s4", "policy.budget"] == 1_400_000 and table.loc["s4", "services.demand"] == 1.0
    assert table.loc["s4", "objective"] == approx(1_383_000)
    assert table.loc["s4", "contracts_changed"] == 0
    assert table.loc["s2", "objective"] == approx(1_383_000)
    assert table.loc["no_practice", "objective"] == approx(1_393_000)
    assert table.loc["no_practice", "levels_used"] == 1


def test_two_workers_same_table(toy: planner.Instance, results: pd.DataFrame) -> None:
    parallel = planner.sweep(toy, SWEEP, workers=2)
    columns = [c for c in results.columns if c not in ("wall_s", "rebuilt")]
    pd.testing.assert_frame_equal(parallel[columns], results[columns])


def test_dask_local_cluster(toy: planner.Instance, results: pd.DataFrame) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        table = planner.sweep(toy, SWEEP, scheduler=client)
    columns = [c for c in results.columns if c not in ("wall_s", "rebuilt")]
    pd.testing.assert_frame_equal(table[columns], results[columns])


def test_resume_skips_finished_scenarios(tmp_path: Path, toy: planner.Instance,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sweep"
    first = planner.sweep(toy, SWEEP, out=out)
    (out / "rows" / "3-s3.json").unlink()  # as if interrupted before s3 finished
    (out / "results.csv").unlink()
    solved = []
    original = sweep_module._Job.solve

    def counting(self, scenario, sessions):
        solved.append(scenario.name)
        return original(self, scenario, sessions)

    monkeypatch.setattr(sweep_module._Job, "solve", counting)
    news: list[str] = []
    second = planner.sweep(toy, SWEEP, out=out, notify=news.append)
    assert solved == ["s3"]
    assert news == ["resuming: 6 of 7 scenarios already done, skipped"]
    columns = [c for c in first.columns if c not in ("wall_s", "rebuilt")]
    pd.testing.assert_frame_equal(second[columns].astype(str), first[columns].astype(str))
    assert (out / "results.csv").is_file() and (out / "results.parquet").is_file()
    other = dict(SWEEP, mode="zip", parameters={"policy.budget": [1_500_000]})
    with pytest.raises(InputError, match="holds results of a different sweep"):
        planner.sweep(toy, other, out=out)


def test_failing_scenario_is_recorded_and_the_sweep_goes_on(toy: planner.Instance) -> None:
    spec = {"scenarios": {
        "fine": {"policy.budget": 1_400_000},
        "no_provider": {"services.min_quality": {"set": 0.99, "where": {"service": "diabetes_care"}}},
    }}
    table = planner.sweep(toy, spec).set_index("scenario")
    assert table.loc["fine", "status"] == "optimal"
    assert table.loc["no_provider", "status"] == "error"
    assert "min_quality 0.99" in table.loc["no_provider", "message"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"parameters": {"policy.budgett": [1]}}, "unknown key 'policy.budgett'"),
    ({"parameters": {"services.cost": {"scale": [2]}}}, "unknown column 'cost' in key 'services.cost'"),
    ({"parameters": {"services.demand": {"scale": [2], "where": {"kind": "x"}}}},
     "unknown column 'kind' in where of 'services.demand'"),
    ({"parameters": {"services.demand": {"set": [-5]}}}, "scenario s1: -5 is below the minimum 0"),
    ({"parameters": {"services.demand": {"set": [1], "scale": [2]}}}, "exactly one of 'set' or 'scale'"),
    ({"mode": "zip", "parameters": {"policy.budget": [1, 2], "policy.value_per_qaly": [1]}},
     "mode zip needs lists of equal length"),
    ({"paramters": {}}, "key 'paramters'"),
])
def test_override_errors_name_the_key(toy: planner.Instance, spec: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        planner.sweep(toy, spec)
    assert message in caught.value.render()


def test_a_mistyped_key_is_refused_once_for_the_key_with_a_suggestion(toy: planner.Instance) -> None:
    """policy.budgett is wrong in every scenario, not in s1: one problem, naming where the key is
    written and the key it was probably meant to be."""
    spec = {"parameters": {"policy.budgett": [1, 2, 3]},
            "scenarios": {"low": {"policy.budgett": 1}, "busy": {"services.demnd": {"scale": 2}}}}
    with pytest.raises(InputError) as caught:
        planner.sweep(toy, spec)
    problems = caught.value.problems
    assert [p.message for p in problems] == [
        "unknown key 'policy.budgett' (in parameters; in scenario 'low').",
        "unknown column 'demnd' in key 'services.demnd' (in scenario 'busy')."]
    assert problems[0].fix.startswith("Did you mean 'policy.budget'? ")
    assert problems[1].fix.startswith("Did you mean 'services.demand'? ")
    assert "scenario s1" not in caught.value.render()
    with pytest.raises(InputError) as caught:  # a mistyped table: the nearest table.column
        planner.sweep(toy, {"parameters": {"service.demand": {"scale": [2]}}})
    assert "Did you mean 'services.demand'?" in caught.value.render()


def test_a_mistyped_file_key_or_operation_gets_a_suggestion(toy: planner.Instance) -> None:
    """'paramters' (a key of the file) and 'scael' (of a column change) are pydantic's extra
    keys: each is named, with the key it was probably meant to be and the keys allowed there."""
    with pytest.raises(InputError) as caught:
        planner.sweep(toy, {"paramters": {"policy.budget": [1, 2]}})
    problem = caught.value.problems[0]
    assert problem.message == "unknown key 'paramters'."
    assert problem.fix.startswith("Did you mean 'parameters'? The keys here are mode, parameters")
    with pytest.raises(InputError) as caught:
        planner.sweep(toy, {"parameters": {"services.demand": {"scael": [0.9, 1.0]}}})
    problem = caught.value.problems[0]
    assert problem.message == "unknown key 'services.demand.scael'."
    assert problem.fix.startswith("Did you mean 'scale'? The keys here are scale, set, where.")


def test_infeasible_scenario_carries_the_diagnosis(tmp_path: Path, toy: planner.Instance) -> None:
    """The toy's cheapest plan costs £1,383,000: at £1.38m the budget is £3,000 short, and
    results.csv says so (the diagnosis' first message, as `planner solve` prints first)."""
    spec = {"scenarios": {"tight": {"policy.budget": 1_380_000}, "fine": {"policy.budget": 1_400_000}}}
    planner.sweep(toy, spec, out=tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False).set_index("scenario")
    assert table.loc["tight", "status"] == "infeasible"
    assert table.loc["tight", "message"] == ("The budget of £1.38m is £3,000 short of the cheapest "
                                             "plan that meets every other rule.")
    assert table.loc["fine", "message"] == ""


def test_workers_report_each_scenario_as_it_finishes(tmp_path: Path, toy: planner.Instance,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With workers, each row reaches the parent (progress bar, rows/) when its scenario
    finishes, not when its worker's batch does: s2 waits until the parent has seen s1's row."""
    seen = tmp_path / "parent_saw_s1"
    original = sweep_module._Job.solve

    def waiting(self, scenario, models):
        if scenario.name == "s2":
            for _ in range(1200):  # at most a minute: then s2 says it was never released
                if seen.exists():
                    break
                time.sleep(0.05)
            else:
                return {"scenario": "s2", "message": "never released"}
        return original(self, scenario, models)

    monkeypatch.setattr(sweep_module._Job, "solve", waiting)  # forked workers inherit it
    items = scenarios(load_sweep({"parameters": {"policy.budget": [1_400_000, 1_450_000]}}))
    job = sweep_module._Job(toy, SolveOptions(), {}, file_names(items), tmp_path / "rows", None)
    rows = sweep_module._run(job, [items], workers=2, scheduler=None)
    first = next(rows)
    assert first["scenario"] == "s1" and (tmp_path / "rows" / "1-s1.json").is_file()
    assert not (tmp_path / "rows" / "2-s2.json").exists()  # s2 is still waiting for us
    seen.touch()
    rest = list(rows)
    assert {row["scenario"] for row in rest} == {"s1", "s2"}  # s1 again, from the batch result
    assert all(row.get("message") != "never released" for row in rest)
    assert (tmp_path / "rows" / "2-s2.json").is_file()


def test_rows_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row is written to a temporary file and renamed into place: a writer stopped before the
    rename leaves neither a partial row nor its temporary file."""
    from planner import sweep_store

    sweep_store.write_row(tmp_path, "1-s1", {"scenario": "s1", "status": "optimal"})

    def killed(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_store.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        sweep_store.write_row(tmp_path, "1-s1", {"scenario": "s1", "status": "changed"})
    assert [p.name for p in tmp_path.iterdir()] == ["1-s1.json"]
    assert '"optimal"' in (tmp_path / "1-s1.json").read_text()


def test_cli_sweep(tmp_path: Path) -> None:
    spec = tmp_path / "sweep.yaml"
    spec.write_text("parameters:\n  policy.budget: [1390000, 1400000]\n")
    root = Path(__file__).parents[2]
    done = subprocess.run([sys.executable, "-m", "planner", "sweep", str(root / "instances" / "toy"),
                           str(spec), "--out", str(tmp_path / "out"), "--plans"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "2 scenarios: 2 optimal" in done.stdout
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(table["policy.budget"]) == [1_390_000, 1_400_000]
    assert (tmp_path / "out" / "plans" / "1-s1" / "plan.json").is_file()


def pareto_instance() -> planner.Instance:
    """Three optional services with QALY gains per £ of 0.003, 0.002 and 0.001 (cost £1,000,
    £2,000, £3,000 for 3 QALYs each... see values): the front steps through them in that order."""
    services = pd.DataFrame([
        {"service": "a", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.3},
        {"service": "b", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.4},
        {"service": "d", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.3},
    ])
    offers = pd.DataFrame([
        {"provider": "P", "service": "a", "price": 100, "quality": 1.0},
        {"provider": "P", "service": "b", "price": 200, "quality": 1.0},
        {"provider": "P", "service": "d", "price": 300, "quality": 1.0},
    ])
    return planner.Instance.from_frames(
        {"name": "front", "population": 1000, "policy": {"budget": 6000, "value_per_qaly": 5000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=services, providers=pd.DataFrame([{"provider": "P", "kind": "independent"}]),
        offers=offers)


def test_pareto_front_is_non_dominated_and_monotone() -> None:
    """Spend/QALYs of the subsets: {} 0/0, a 1,000/3, b 2,000/4, a+b 3,000/7, d 3,000/3,
    a+d 4,000/6, b+d 5,000/7, all 6,000/10. Non-dominated: (0,0), (1000,3), (2000,4), (3000,7),
    (6000,10). At £5,000/QALY a (3 QALYs for £1,000 = £333/QALY), b (£500) and d (£1,000) are all
    worth buying: the chosen plan is all three, (6,000, 10)."""
    front = pareto_front(pareto_instance(), points=13)
    line = front.loc[~front["chosen"]]
    assert list(zip(line["spend"].round(6), line["qalys"].round(6))) == [
        (0, 0), (1000, 3), (2000, 4), (3000, 7), (6000, 10)]
    assert line["spend"].is_monotonic_increasing and line["qalys"].is_monotonic_increasing
    chosen = front.loc[front["chosen"]].iloc[0]
    assert (chosen["spend"], chosen["qalys"]) == (approx(6000), approx(10))


# --- persistent re-solves of prices, demand and thresholds ------------------------------------
MUTABLE_CHANGES = {  # name: (changes, whether they move the toy's optimum)
    "prices": ({"offers.price": {"scale": 1.03}}, True),
    "tariff": ({"services.tariff": {"scale": 0.9}}, True),
    "demand": ({"services.demand": {"scale": 1.05, "where": {"category": "primary"}}}, True),
    "minimum income": ({"providers.min_income": {"scale": 1.5}}, True),
    "efficiency and growth": ({"policy.price_change": -0.03, "services.growth": {"set": 0.02}},
                              True),  # (over several years only)
    # GP consultations average 0.8375 with both providers full: 0.835 is slack (in one year),
    # 0.84 infeasible
    "quality floor": ({"services.min_avg_quality": {
        "set": 0.835, "where": {"service": "gp_consultations"}}}, False),
    "impossible quality floor": ({"services.min_avg_quality": {
        "set": 0.84, "where": {"service": "gp_consultations"}}}, False),
}


def _scenario(name: str, changes: dict):
    return scenarios(load_sweep({"scenarios": {name: changes}}))[0]


@pytest.mark.parametrize("horizon", [1, 3])
@pytest.mark.parametrize("name", list(MUTABLE_CHANGES))
def test_persistent_resolves_equal_fresh_builds(toy: planner.Instance, name: str,
                                                horizon: int) -> None:
    """A mutable model re-set to a scenario (no rebuild) solves to the fresh build's optimum,
    and its plan passes verification against the scenario's own data."""
    from planner.solver.session import PlanningModel

    base = apply(toy, _scenario("base", {"horizon": horizon, "policy.budget": 1_600_000,
                                         "policy.break_even": "carry_forward"}))
    session = PlanningModel(base, mutable=True)
    first = session.plan(session.run())
    changes, moves = MUTABLE_CHANGES[name]
    variant = apply(base, _scenario(name, changes))
    assert session.update(variant), "the structure should not have changed"
    plan = session.plan(session.run(), instance=variant)  # raises if it does not verify
    fresh = planner.solve(variant)
    assert plan.status == fresh.status
    if fresh.objective is None:
        assert plan.objective is None
        return
    assert plan.objective == approx(fresh.objective, rel=1e-9)
    if moves and (name != "efficiency and growth" or horizon > 1):
        assert plan.objective != approx(first.objective, rel=1e-9)  # the change mattered


def test_structure_change_needs_a_rebuild(toy: planner.Instance) -> None:
    from planner.solver.session import PlanningModel

    session = PlanningModel(toy, mutable=True)
    variant = apply(toy, _scenario("no practice", SWEEP["scenarios"]["no_practice"]))
    assert not session.update(variant)
    plain = PlanningModel(toy)  # a plain build has no Params to re-set
    assert not plain.update(apply(toy, _scenario("prices", MUTABLE_CHANGES["prices"][0])))


def test_price_sweep_resolves_one_model(toy: planner.Instance) -> None:
    """Every scenario re-sets the model the base instance was solved on (built once, in-process,
    for the base's contracts): none is rebuilt."""
    spec = {"parameters": {"policy.budget": 1_600_000,
                           "offers.price": {"scale": [0.95, 1.0, 1.05]}}}
    table = planner.sweep(toy, spec)
    assert table["rebuilt"].tolist() == [False, False, False]
    for scenario, row in zip(scenarios(load_sweep(spec)), table.itertuples()):
        assert row.objective == approx(planner.solve(apply(toy, scenario)).objective, rel=1e-9)


@pytest.mark.parametrize(("keep", "rebuilt"), [(4, [True, True, True, False]),
                                               (2, [True, True, True, True])])
def test_worker_keeps_a_bounded_number_of_models(toy: planner.Instance, monkeypatch,
                                                 keep: int, rebuilt: list[bool]) -> None:
    """Capacities are structure: each new capacity builds a model. A worker keeps at most KEEP
    models; a structure seen again is re-used while kept, rebuilt once evicted."""
    monkeypatch.setattr(sweep_module._Models, "KEEP", keep)
    capacity = {f"c{i}": {"offers.capacity": {"scale": factor}}
                for i, factor in enumerate([1.1, 1.2, 1.3])}
    # c0's structure again, by another override (so not grouped with c0): re-set, not rebuilt,
    # while c0's model is still kept
    again = {"c0 again": {"offers.capacity": {"scale": 1.1}, "offers.price": {"scale": 0.99}}}
    spec = {"scenarios": {**capacity, **again}}
    table = planner.sweep(toy, spec)
    assert table["rebuilt"].tolist() == rebuilt
    for scenario, row in zip(scenarios(load_sweep(spec)), table.itertuples()):
        assert row.objective == approx(planner.solve(apply(toy, scenario)).objective, rel=1e-9)
