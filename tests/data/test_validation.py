"""Every validation check fires, with table, row, line, column and a fix, all in one report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import planner
from planner.errors import InputError

BROKEN = Path(__file__).parents[1] / "fixtures" / "broken"


@pytest.fixture(scope="module")
def broken_problems() -> list[str]:
    with pytest.raises(InputError) as caught:
        planner.load_instance(BROKEN)
    return [str(p) for p in caught.value.problems]


# (substring expected in one problem line) — each names table, row/line and column.
EXPECTED = [
    "instance.yaml: unknown key 'policy.value_per_qualy'. Fix: Did you mean 'policy.value_per_qaly'?",
    "levels row 'practice' line 2, column 'transaction_cost': 'abc' is not a number.",
    "levels row 'pct' line 3, column 'population': 0 must be greater than 0.",
    "levels row 'pct' line 4, column 'level': duplicate level 'pct'.",
    "services row 'hip' line 2, column 'mandatory': 'maybe' is not true or false.",
    "services row 'knee' line 3, column 'setting': 'ward' is not a known setting.",
    "services row 'knee' line 3, column 'min_quality': 1.5 is above the maximum 1.",
    "services row 'knee' line 3, column 'min_providers': min_providers 3 exceeds max_providers 2.",
    "services row 'knee' line 3, column 'min_share': min_share 0.5 × min_providers 3 exceeds 1",
    "services row 'knee' line 3, column 'allowed_levels': unknown level 'regional'.",
    "services row 'cataract' line 4, column 'demand': neither demand nor activity_rate is given.",
    "services row 'eyes' line 5, column 'activity_rate': both demand and activity_rate are given.",
    "providers row 'trust' line 2, column 'min_income': -5 is below the minimum 0.",
    "providers row 'clinic' line 3, column 'kind': 'spaceship' is not a known kind.",
    "offers, column 'capcity': unknown column 'capcity'. Fix: Did you mean 'capacity'?",
    "offers row 'trust/hip' line 3, column 'service': duplicate provider/service 'trust/hip'.",
    "offers row 'clinic/knee' line 4, column 'incumbent_volume': incumbent_volume 5 for provider "
    "'clinic', which is not an incumbent.",
    "offers row 'trust/cataract' line 5, column 'capacity': 'inf' is not a finite number.",
    "offers row 'ghost/hip' line 6, column 'provider': unknown provider 'ghost'.",
    "offers row 'trust/ghost_service' line 7, column 'service': unknown service 'ghost_service'.",
    "offers row 'clinic/cataract' line 8, column 'quality': 1.2 is above the maximum 1.",
    "offers row 'clinic/cataract' line 8, column 'price': no price for cataract, which has no tariff.",
    "level_effects row 'locality/elective' line 2, column 'level': unknown level 'locality'.",
]


@pytest.mark.parametrize("expected", EXPECTED)
def test_broken_fixture_reports(broken_problems: list[str], expected: str) -> None:
    assert any(expected in line for line in broken_problems), "\n".join(broken_problems)


def test_broken_fixture_reports_everything_once(broken_problems: list[str]) -> None:
    """All problems come in one report, each with a fix, none twice."""
    assert len(broken_problems) == len(EXPECTED)
    assert len(set(broken_problems)) == len(broken_problems)
    assert all("Fix:" in line for line in broken_problems)


def _edit(folder: Path, table: str, old: str, new: str) -> None:
    path = folder / table
    text = path.read_text()
    assert old in text, f"{old!r} not in {table}"
    path.write_text(text.replace(old, new))


def _problems(folder: Path) -> str:
    with pytest.raises(InputError) as caught:
        planner.solve(folder)
    return caught.value.render()


def test_mandatory_service_without_provider_meeting_quality(toy_copy: Path) -> None:
    text = (toy_copy / "services.csv").read_text().replace(
        "service,name,category,setting,demand,cost_cv,tariff,mandatory,qaly_gain,allowed_levels",
        "service,name,category,setting,demand,cost_cv,tariff,mandatory,qaly_gain,allowed_levels,min_quality")
    text = text.replace("true,0.01,\n", "true,0.01,,0.95\n").replace("true,0,practice;pct\n",
                                                                     "true,0,practice;pct,\n")
    text = text.replace("6000,true,0,\n", "6000,true,0,,\n")
    (toy_copy / "services.csv").write_text(text)
    message = _problems(toy_copy)
    assert "services row 'diabetes_care', column 'min_quality': mandatory, but no provider meets " \
           "its min_quality 0.95: the best quality on offer is 0.9 at 'riverside_federation'." in message


def test_mandatory_service_with_no_level_bearing_its_risk(toy_copy: Path) -> None:
    """Hip replacement, 20 a year in 10,000 people, only at practice level (2,500 people):
    CV = sqrt(1 / (0.002 × 2500)) = 0.447 > 0.1."""
    _edit(toy_copy, "services.csv", "6000,true,0,", "6000,true,0,practice")
    message = _problems(toy_copy)
    assert "no allowed level can bear its risk" in message
    assert "0.447 at best (level 'practice'), above its risk_tolerance 0.100" in message


def test_mandatory_demand_above_all_eligible_capacity(toy_copy: Path) -> None:
    """GP demand 80,000 against 40,000 + 30,000 at PCT level: short by 10,000."""
    _edit(toy_copy, "services.csv", "community,40000,", "community,80000,")
    message = _problems(toy_copy)
    assert "mandatory demand of 80,000 episodes exceeds the 70,000 episodes of capacity at " \
           "eligible providers (best level 'pct') by 10,000." in message


def test_too_few_eligible_providers_for_choice(toy_copy: Path) -> None:
    text = (toy_copy / "services.csv").read_text()
    text = text.replace("allowed_levels\n", "allowed_levels,min_providers\n")
    text = text.replace("practice;pct\n", "practice;pct,1\n").replace("0.01,\n", "0.01,,4\n")
    text = text.replace("6000,true,0,\n", "6000,true,0,,1\n")
    (toy_copy / "services.csv").write_text(text)
    assert "needs at least 4 providers but only 3 eligible ones offer it" in _problems(toy_copy)


def test_table_path_may_not_leave_folder(toy_copy: Path) -> None:
    with (toy_copy / "instance.yaml").open("a") as handle:
        handle.write("tables:\n  offers: ../../etc/passwd\n")
    message = _problems(toy_copy)
    assert "table path '../../etc/passwd' for offers leaves the instance folder" in message


def test_yaml_aliases_refused(toy_copy: Path) -> None:
    (toy_copy / "instance.yaml").write_text(
        "name: &n toy\npopulation: 10000\ndescription: *n\n")
    assert "uses YAML anchors/aliases" in _problems(toy_copy)


def test_yaml_python_tags_refused(toy_copy: Path) -> None:
    (toy_copy / "instance.yaml").write_text(
        "name: !!python/object/apply:os.system ['echo hacked']\npopulation: 10000\n")
    assert "is not valid YAML" in _problems(toy_copy)


def test_budget_list_must_match_horizon(toy_copy: Path) -> None:
    _edit(toy_copy, "instance.yaml", "budget: 1400000", "budget: [1400000, 1400000]")
    assert "policy.budget lists 2 years but the horizon is 1" in _problems(toy_copy)


def test_missing_required_column_and_empty_table(toy_copy: Path) -> None:
    (toy_copy / "providers.csv").write_text("provider,min_income\n")
    message = _problems(toy_copy)
    assert "providers, column 'kind': required column 'kind' is missing." in message
    assert "providers: has no rows." in message


def test_thousands_separator_explained(toy_copy: Path) -> None:
    _edit(toy_copy, "services.csv", "community,40000,", 'community,"40,000",')
    assert "Write the number without thousands separators" in _problems(toy_copy)


def test_frames_are_validated_like_files() -> None:
    """The library path reports the same problems, without line numbers."""
    with pytest.raises(InputError) as caught:
        planner.Instance.from_frames(
            {"name": "x", "population": 100},
            levels=pd.DataFrame({"level": ["a"], "order": [1], "population": [-1]}),
            services=pd.DataFrame({"service": ["s"], "category": ["c"], "demand": [1.0]}),
            providers=pd.DataFrame({"provider": ["p"], "kind": ["nhs_trust"]}),
            offers=pd.DataFrame({"provider": ["p"], "service": ["s"], "quality": [2.0],
                                 "price": [1.0]}))
    text = caught.value.render()
    assert "levels row 'a', column 'population': -1 must be greater than 0." in text
    assert "offers row 'p/s', column 'quality': 2 is above the maximum 1." in text


def test_unknown_family_refused(toy_dir: Path) -> None:
    with pytest.raises(InputError, match="unknown constraint family"):
        planner.solve(toy_dir, without=["budgett"])


def test_effect_row_for_a_category_no_service_has_is_a_warning(tmp_path: Path) -> None:
    """One national table of demand factors serves every area: a level_effects row for a
    category no service has is reported as a warning naming the row, not an error, and the
    toy still solves to its hand-derived optimum (£1,383,000, see instances/toy/README.md)."""
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "toy"
    shutil.copytree(Path(__file__).resolve().parents[2] / "instances" / "toy", folder)
    with open(folder / "level_effects.csv", "a", encoding="utf-8") as table:
        table.write("pct,urgent,1.2\n")
    done = subprocess.run([sys.executable, "-m", "planner", "validate", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "level_effects row pct/urgent: no service has category 'urgent': this row has no " \
        "effect." in done.stdout + done.stderr
    plan = planner.solve(planner.load_instance(folder))
    assert plan.objective == pytest.approx(1_383_000.0, rel=1e-9)


def test_with_changes_validates_like_from_frames() -> None:
    """A scenario's copy (Instance.with_changes) parses only the tables it changes, yet is the
    instance from_frames gives from every table, and a bad changed cell is still refused with
    its table, row and column."""
    base = planner.load_instance(Path(__file__).parents[2] / "instances" / "toy")
    offers = base.offers.copy()
    offers["price"] = offers["price"] * 1.1
    config = base.config.model_dump(mode="python")
    config["policy"]["budget"] = 1_500_000
    changed = base.with_changes(config, {"offers": offers})
    tables = {**base.tables(), "offers": offers}
    assert changed.sha256() == planner.Instance.from_frames(config, **tables).sha256() != base.sha256()
    assert changed.providers is not base.providers  # no table is shared with the base
    offers.loc[0, "price"] = -1.0
    with pytest.raises(InputError) as caught:
        base.with_changes(config, {"offers": offers})
    assert any(p.table == "offers" and p.column == "price" for p in caught.value.problems)


def test_a_budget_in_the_wrong_units_is_named_by_validate(toy_copy: Path) -> None:
    """The toy's budget typed in £ million (1.4 for £1,400,000). The mandatory services alone
    cost at least, at the cheapest level of each: GP consultations 40,000 × £29 + £1,000 (a
    practice contract), diabetes care 450 × £180 + £1,000 (practice, its level effect taking
    500 to 450 episodes), hip replacement 20 × £6,000 + £2,000 (PCT): £1,365,000. £1 is under
    a tenth of that, so validate warns of the units (exit 0: the data are valid; the solve
    would be infeasible). The shipped budget draws no warning."""
    from click.testing import CliRunner

    from planner.cli.main import main

    assert CliRunner().invoke(main, ["validate", str(toy_copy)]).stderr == ""
    text = (toy_copy / "instance.yaml").read_text().replace("budget: 1400000", "budget: 1.4")
    (toy_copy / "instance.yaml").write_text(text)
    done = CliRunner().invoke(main, ["validate", str(toy_copy)])
    assert done.exit_code == 0
    assert "warning: policy.budget £1 is under a tenth of the least the mandatory services" \
        in done.stderr and "Check its units" in done.stderr


def test_a_missing_demand_column_is_one_problem_not_one_per_row(toy_copy: Path) -> None:
    """services.csv without its demand column (and no activity_rate): one problem naming the
    column, not the same line for each of the toy's three services."""
    services = pd.read_csv(toy_copy / "services.csv", dtype=str, keep_default_na=False)
    services.drop(columns=["demand"]).to_csv(toy_copy / "services.csv", index=False)
    with pytest.raises(InputError) as caught:
        planner.load_instance(toy_copy)
    texts = [str(p) for p in caught.value.problems]
    assert texts == ["services, column 'demand': no row gives demand or activity_rate: the column "
                     "is missing, misnamed or empty. Fix: Add a demand column (episodes per year) "
                     "or an activity_rate column (episodes per person per year), one of them on "
                     "each row."]


def test_a_letter_typed_for_a_digit_finds_the_id_meant() -> None:
    """'gp_N85O07' (a capital O for the zero) means gp_N85007; difflib alone finds the nearer
    spelling gp_N85027. Case still comes first (County_Hospital → county_hospital)."""
    from planner.data.references import _did_you_mean

    known = {"gp_N85007", "gp_N85027", "gp_N85031"}
    assert _did_you_mean("gp_N85O07", known) == "Did you mean 'gp_N85007'? "
    assert _did_you_mean("County_Hospital", {"county_hospital"}) == \
        "Did you mean 'county_hospital'? "
