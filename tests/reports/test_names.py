"""Plain names and one number format in every report (issue "What an analyst meets", #9, #10).

The toy ships with names ("High Street Surgery" for high_street_surgery): every report shows the
names, plan.xlsx keeps the ids with the names beside them, and the same toy without its name
columns shows the ids. Names never change the optimum. plan.xlsx holds numbers as numbers
(negative ones and marginal_values included) without float noise, and the Pareto front goes on
above the budget to show what more money buys.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import planner
from planner.analysis.pareto import ABOVE_BUDGET, pareto_front
from planner.data.names import Names
from planner.formats import money

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "instances" / "toy"
NAMED = {"high_street_surgery": "High Street Surgery",
         "riverside_federation": "Riverside GP Federation",
         "county_hospital": "County Hospital NHS Trust", "gp_consultations": "GP consultations",
         "diabetes_care": "Diabetes care", "hip_replacement": "Hip replacement",
         "practice": "GP practice", "pct": "Primary care trust"}
IDS = [i for i in NAMED if i not in ("practice", "pct")]  # level ids are common words


def _solve_to_dir(instance: planner.Instance, folder: Path) -> Path:
    """Solve and write the plan folder as `planner solve` does (status-quo tables included)."""
    planner.solve(instance, marginal=True, status_quo=True).to_dir(folder)
    return folder


def _without_names(instance: planner.Instance) -> planner.Instance:
    tables = instance.tables()
    for name in ("levels", "services", "providers"):
        tables[name] = tables[name].drop(columns="name")
    return planner.Instance.from_frames(instance.config, **tables)


@pytest.fixture(scope="module")
def named_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _solve_to_dir(planner.load_instance(TOY), tmp_path_factory.mktemp("named") / "plan")


@pytest.fixture(scope="module")
def unnamed_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    toy = _without_names(planner.load_instance(TOY))
    return _solve_to_dir(toy, tmp_path_factory.mktemp("unnamed") / "plan")


def _visible_html(folder: Path) -> str:
    """report.html's text and SVG labels, without the markup (ids in attributes don't count)."""
    html = (folder / "report.html").read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", " ", html)


def _sheet(book: openpyxl.Workbook, name: str) -> pd.DataFrame:
    rows = list(book[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


# --- names --------------------------------------------------------------------------------------
def test_the_toy_ships_with_names_and_they_do_not_change_the_optimum() -> None:
    toy = planner.load_instance(TOY)
    names = Names.of(toy)
    assert {k: names.show(kind, k) for kind, ids in (("service", toy.services["service"]),
                                                     ("provider", toy.providers["provider"]),
                                                     ("level", toy.levels["level"]))
            for k in ids} == NAMED
    bare = _without_names(toy)
    assert bare.sha256() != toy.sha256()  # names are data: the hash tells the two apart
    assert planner.solve(bare).objective == pytest.approx(1_383_000, abs=1e-3)
    assert planner.solve(toy).objective == pytest.approx(1_383_000, abs=1e-3)


@pytest.mark.solver
def test_report_html_shows_names(named_plan: Path) -> None:
    text = _visible_html(named_plan)
    for name in NAMED.values():
        assert name in text, name
    for identifier in IDS:
        assert identifier not in text, identifier
    assert "Riverside GP Federation / GP consultations" in text  # a rule's subject, named
    assert "Risk pooling: one GP practice unit" in text  # a sentence naming a level


@pytest.mark.solver
def test_report_html_and_summary_show_ids_without_names(unnamed_plan: Path) -> None:
    text = _visible_html(unnamed_plan)
    summary = (unnamed_plan / "summary.md").read_text(encoding="utf-8")
    for identifier in IDS:
        assert identifier in text, identifier
    assert "riverside_federation/gp_consultations" in summary
    for name in ("High Street Surgery", "Riverside GP Federation", "GP consultations"):
        assert name not in text and name not in summary


@pytest.mark.solver
def test_summary_md_shows_names(named_plan: Path) -> None:
    summary = (named_plan / "summary.md").read_text(encoding="utf-8")
    assert "| started | GP consultations | Riverside GP Federation | Primary care trust |" in summary
    assert "| GP practice | 1 | £82,000 | 6.0 % |" in summary
    for identifier in IDS:
        assert identifier not in summary, identifier


@pytest.mark.solver
def test_plan_xlsx_keeps_ids_and_adds_names_beside_them(named_plan: Path,
                                                        unnamed_plan: Path) -> None:
    book = openpyxl.load_workbook(named_plan / "plan.xlsx")
    contracts = _sheet(book, "contracts")
    assert list(contracts.columns[:6]) == ["service", "service_name", "level", "level_name",
                                           "provider", "provider_name"]
    pairs = set(zip(contracts["provider"], contracts["provider_name"]))
    assert ("county_hospital", "County Hospital NHS Trust") in pairs
    marginal = _sheet(book, "marginal_values")
    assert "Riverside GP Federation / GP consultations" in set(marginal["subject_name"])
    bare = openpyxl.load_workbook(unnamed_plan / "plan.xlsx")
    by_rule = ("kind_name", "category_name", "key_name",  # named by rule, with or without names
               "constraint_name")
    for sheet in bare.sheetnames[1:]:
        headers = [c.value for c in bare[sheet][1]]
        assert not [h for h in headers if str(h).endswith("_name") and h not in by_rule], sheet
    # the plan folder's CSVs keep ids as their keys, with or without names
    assert "high_street_surgery" in (named_plan / "contracts.csv").read_text(encoding="utf-8")


def test_blank_and_duplicate_names_are_allowed() -> None:
    toy = planner.load_instance(TOY)
    tables = toy.tables()
    providers = tables["providers"].copy()
    providers["name"] = ["Same name", "Same name", None]
    tables["providers"] = providers
    named = Names.of(planner.Instance.from_frames(toy.config, **tables))
    assert named.provider("high_street_surgery") == named.provider("riverside_federation")
    assert named.provider("county_hospital") == "county_hospital"  # blank: the id


def test_names_map_subjects_and_messages_whole_ids_only() -> None:
    names = Names(services={"gp": "GP consultations"}, providers={"p1": "Riverside"},
                  levels={"pct": "Primary care trust"})
    assert names.subject("p1/gp") == "Riverside / GP consultations"
    assert names.subject("gp@pct") == "GP consultations at Primary care trust"
    assert names.subject("budget +1%") == "budget +1%"
    assert names.message("One more episode of gp@pct (a pctx)", "gp@pct") == \
        "One more episode of GP consultations at Primary care trust (a pctx)"
    reasons = names.label(pd.DataFrame({"service": ["gp"], "reason": ["gp has no contract"]}))
    assert reasons.iloc[0].tolist() == ["GP consultations", "GP consultations has no contract"]
    frame = pd.DataFrame({"by": ["level", "kind", "category"],
                          "key": ["pct", "foundation_trust", "mental_health"]})
    assert list(names.label(frame)["key"]) == ["Primary care trust", "Foundation trust",
                                               "Mental health"]
    assert list(Names().label(frame)["key"]) == ["pct", "Foundation trust", "Mental health"]
    ids = pd.DataFrame({"service": ["gp"], "level": ["pct"]})
    assert Names().label(ids) is ids  # no names and no kinds or categories: nothing to do


def test_provider_kinds_and_categories_are_named_by_rule() -> None:
    """Kinds and categories have no name column: one rule names them, the same in every report."""
    from planner.data.names import plain_name
    from planner.data.schema import PROVIDER_KINDS

    assert [plain_name(k) for k in PROVIDER_KINDS] == [
        "NHS trust", "Foundation trust", "GP practice", "GP federation", "Social enterprise",
        "Independent", "Voluntary", "Local authority", "Community provider"]
    assert plain_name("long_term_conditions") == "Long term conditions"
    assert plain_name("Mental Health") == "Mental Health"  # written as a name already: kept
    assert plain_name("IVF_services") == "IVF services"
    assert plain_name(None) == ""
    providers = pd.DataFrame({"provider": ["a"], "kind": ["foundation_trust"]})
    assert Names().label(providers)["kind"].tolist() == ["Foundation trust"]
    assert Names().with_names(providers).columns.tolist() == ["provider", "kind", "kind_name"]


def test_rule_families_are_named_in_one_place() -> None:
    """Every family a table or message can show (a switch, or rows diagnosis relaxes or
    marginal values price) has a name in RULE_NAMES, in words a board reads (no underscore, so a
    narrow printed column wraps it at spaces); report tables show it, plan.xlsx puts it beside."""
    from formulations.registry import REGISTRY
    from planner.data.names import rule_name
    from planner.rules import RULE_NAMES, Family

    shown = {spec.name for spec in REGISTRY if spec.switch is not None
             or any(r.relax is not None or r.dual is not None for r in spec.rows)}
    assert shown | {f.value for f in Family} <= set(RULE_NAMES), sorted(shown - set(RULE_NAMES))
    assert not [n for n in RULE_NAMES.values() if "_" in n or n != n.strip()]
    assert rule_name("min_income") == "Break-even income" == Names().rule(Family.MIN_INCOME)
    assert rule_name("eligibility") == "Eligibility"  # not a family: its id in plain words
    rules = pd.DataFrame({"constraint": ["offer_capacity"], "subject": ["p1/gp"]})
    assert Names().label(rules)["constraint"].tolist() == ["Capacity for a service"]
    assert Names().with_names(rules).columns.tolist() == ["constraint", "constraint_name",
                                                          "subject"]


@pytest.mark.solver
@pytest.mark.parametrize("plan", ["named_plan", "unnamed_plan"])
def test_reports_show_rules_by_name(plan: str, request: pytest.FixtureRequest) -> None:
    """"What binds the plan" and summary.md's binding constraints name each rule ("Capacity for
    a service"), never its id (offer_capacity, which print broke into "offer_c / apacity");
    plan.xlsx keeps the id with the name beside it."""
    folder: Path = request.getfixturevalue(plan)
    html = (folder / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="constraints"'):]
    section = re.sub(r"<[^>]+>", " ", section[:section.index("</section>")])
    assert "Capacity for a service" in section
    assert "offer_capacity" not in section and "min_income" not in section
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| Capacity for a service |" in summary and "| offer_capacity |" not in summary
    marginal = _sheet(openpyxl.load_workbook(folder / "plan.xlsx"), "marginal_values")
    assert ("offer_capacity", "Capacity for a service") in set(
        zip(marginal["constraint"], marginal["constraint_name"]))
    assert "offer_capacity" in (folder / "marginal_values.csv").read_text(encoding="utf-8")


KIND_IDS = ("gp_practice", "gp_federation", "nhs_trust", "long_term_conditions")
KIND_NAMES = ("GP practice", "GP federation", "NHS trust", "Long term conditions")


@pytest.mark.solver
@pytest.mark.parametrize("plan", ["named_plan", "unnamed_plan"])
def test_reports_show_kinds_and_categories_by_name(plan: str,
                                                  request: pytest.FixtureRequest) -> None:
    """report.html (tables and charts) and plan.xlsx's name columns show "NHS trust", never
    nhs_trust (which a narrow printed column would break mid-word), with or without names."""
    folder: Path = request.getfixturevalue(plan)
    text = _visible_html(folder)
    for identifier in KIND_IDS:
        assert identifier not in text, identifier
    for name in ("NHS trust", "GP federation", "Long term conditions"):
        assert name in text, name
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    providers = _sheet(book, "providers")
    assert ("nhs_trust", "NHS trust") in set(zip(providers["kind"], providers["kind_name"]))
    services = _sheet(book, "services")
    assert "Long term conditions" in set(services["category_name"])
    spend = _sheet(book, "spend_changes")
    assert "GP federation" in set(spend["key_name"])


@pytest.mark.solver
def test_how_marginal_values_are_known_reads_in_words(named_plan: Path) -> None:
    """"What binds the plan" says how each value is known in words, not the method ids of
    marginal_values.csv (lp_dual, milp_resolve, milp_answered)."""
    from planner.rules import METHOD_WORDS

    methods = set(pd.read_csv(named_plan / "marginal_values.csv")["method"])
    assert methods & {"lp_dual", "milp_resolve"}, methods
    text = _visible_html(named_plan)
    for method in methods:
        assert method not in text, method
        assert METHOD_WORDS[method] in text, method


# --- numbers --------------------------------------------------------------------------------
def test_money_is_one_format_without_float_noise() -> None:
    assert money(-229_541_072) == "\u2212£229.5m"
    assert money(341_000_000.000006) == "£341.0m"
    assert money(-6e-06) == "£0"
    assert money(17_000) == "£17,000"


def test_money_columns_of_priorities_and_areas_carry_their_units() -> None:
    """plan.xlsx's priorities and areas sheets: every £ column says so in its header."""
    from planner.reports.xlsx import _headers

    headers, formats = _headers("priorities", pd.DataFrame(columns=[
        "service", "cost", "saved", "net_cost", "cost_per_qaly", "comes_in_at", "goes_out_at"]))
    assert headers == ["service", "cost (£)", "saved (£)", "net_cost (£)",
                       "cost_per_qaly (£ per QALY)", "comes_in_at (£ budget)",
                       "goes_out_at (£ budget)"]
    assert formats[0] is None and all(formats[1:])
    headers, _ = _headers("areas", pd.DataFrame(columns=[
        "spend_per_head", "indicative_budget", "saving", "overspend", "saving_kept"]))
    assert headers == ["spend_per_head (£ per need-weighted head)", "indicative_budget (£)",
                       "saving (£)", "overspend (£)", "saving_kept (£)"]


def test_how_much_worse_off_reads_the_same_everywhere() -> None:
    """unfunded.csv, `planner explain` and alternatives.csv say the rise of the objective in one
    phrase, never "value for money" (the headline's £ per QALY)."""
    from planner.formats import worse_off

    tail = ", counting health at £20,000 per QALY against spend and the risk charge"
    assert worse_off(12_071, 1, 20_000) == "£12,071 a year worse off" + tail
    assert worse_off(12_071, 5, 20_000) == "£12,071 worse off over the 5 years" + tail
    assert worse_off(0.2, 1, 20_000) == "no worse off" + tail


@pytest.mark.solver
@pytest.mark.parametrize("plan", ["named_plan", "unnamed_plan"])
def test_numeric_cells_of_plan_xlsx_are_numbers(plan: str, request: pytest.FixtureRequest) -> None:
    """Every sheet: a column with any number holds numbers only (or blanks); no number is
    stored as text; £ columns are whole pennies; negative numbers stay numbers."""
    book = openpyxl.load_workbook(request.getfixturevalue(plan) / "plan.xlsx")
    negatives = {}
    for sheet in book.sheetnames[1:]:
        rows = list(book[sheet].iter_rows(values_only=True))  # raw cells, not pandas' NaN
        for index, column in enumerate(rows[0]):
            values = [row[index] for row in rows[1:] if row[index] is not None]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            texts = [v for v in values if isinstance(v, str)]
            for value in texts:
                with pytest.raises(ValueError):
                    float(value.lstrip("'").replace(",", ""))  # no number stored as text
            if numbers:
                assert len(numbers) == len(values), (sheet, column)
                negatives[(sheet, column)] = min(numbers) < 0
            if "(£)" in str(column):
                assert all(math.isclose(v, round(v, 2), abs_tol=1e-9) for v in numbers)
    assert negatives[("marginal_values", "change (in unit)")]  # −5 %, −1 % budget steps
    assert negatives[("marginal_values", "marginal_value (£ per unit)")]
    assert negatives[("changes", "volume_change (episodes)")]


# --- the Pareto front above the budget ---------------------------------------------------------
@pytest.mark.solver
def test_pareto_front_goes_on_above_the_budget() -> None:
    """Subsets of the optional services a, b, d cost 0..6,000 for 0..10 QALYs. With a budget of
    £5,500 the most it buys is a+b (3,000, 7); with 10 % more (£6,050) all three (6,000, 10)."""
    services = pd.DataFrame([
        {"service": "a", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.3},
        {"service": "b", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.4},
        {"service": "d", "category": "c", "demand": 10, "mandatory": False, "qaly_gain": 0.3}])
    offers = pd.DataFrame([{"provider": "P", "service": s, "price": p, "quality": 1.0}
                           for s, p in (("a", 100), ("b", 200), ("d", 300))])
    instance = planner.Instance.from_frames(
        {"name": "front", "population": 1000, "policy": {"budget": 5500, "value_per_qaly": 5000}},
        levels=pd.DataFrame([{"level": "pct", "order": 1, "population": 1000}]),
        services=services, providers=pd.DataFrame([{"provider": "P", "kind": "independent"}]),
        offers=offers)
    front = pareto_front(instance, points=7)
    line = front.loc[~front["chosen"]]
    inside = line.loc[line["within_budget"]]
    above = line.loc[~line["within_budget"]]
    assert list(zip(inside["spend"].round(6), inside["qalys"].round(6))) == [
        (0, 0), (1000, 3), (2000, 4), (3000, 7)]
    assert list(zip(above["spend"].round(6), above["qalys"].round(6))) == [(6000, 10)]
    assert (above["spend"] <= 5500 * (1 + ABOVE_BUDGET)).all()
    chosen = front.loc[front["chosen"]].iloc[0]
    assert chosen["within_budget"] and chosen["spend"] <= 5500
    assert front["budget"].iloc[0] == 5500


def test_the_workbooks_messages_name_their_subjects() -> None:
    """plan.xlsx keeps the ids in their own columns (to join on the CSVs) but its messages are
    sentences for a board: with names in the instance, the subject's ids in a message are
    replaced by its names, as in the report."""
    names = Names(services={"gp": "GP consultations"}, levels={"pct": "Primary care trust"})
    rows = pd.DataFrame({"subject": ["gp@pct"],
                         "message": ["One more episode of gp@pct adds £30.00 to the objective."]})
    named = names.with_names(rows)
    assert named["subject"].tolist() == ["gp@pct"]  # the id kept
    assert named["message"].tolist() == [
        "One more episode of GP consultations at Primary care trust adds £30.00 to the objective."]
