"""Write instances/pct_5y: the PCT of instances/pct planning five years, 2011/12 to 2015/16.

    python scripts/make_pct_5y_instance.py [--base instances/pct] [--out instances/pct_5y]

The tables are those of the single-year PCT, with a yearly demand ``growth`` added for
long-term-condition services (ageing); instance.yaml sets the five-year policy (flat budgets,
tariff efficiency, growth, contract stability, a target for long-term-condition care out of
hospital). It adds one discretionary invest-to-save programme (issue 15): community heart-failure
integrated care, whose patients have fewer emergency admissions the year after (``effects.csv``,
lag 1), so its cost falls on the first year and its savings on the later ones: under ``annual``
break-even the first year cannot carry it, under ``multi_year`` it can. Deterministic; the README
records every figure and where it comes from.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
YEARS = 5
BASE_YEAR = 2011
BUDGET_PER_YEAR = 343_000_000.0  # £ a year, held flat (see README)
PRICE_CHANGE = -0.04  # tariff efficiency a year (the "Nicholson challenge", DOMAIN.md / 004)
GENERAL_GROWTH = 0.0  # other demand held flat: the pressure modelled is ageing in LTCs
LTC_CAPACITY_GROWTH = 1.25  # providers of LTC care expand capacity by a quarter over the period
LTC_GROWTH = {"hospital": 0.02, "community": 0.04, "home": 0.04}  # ageing (assumption)
SHIFT_TARGET = [0.90, 0.905, 0.91, 0.91, 0.91]  # community/home share of LTC episodes

# --- the community long-term-conditions programme (issue 15; README "The heart-failure programme")
PROGRAMME = "heart_failure_integrated_care"
HF_PATIENTS = 900  # patient-years a year: the people behind the 1,155 HF admissions (1.3 each)
CARDIAC_NURSE_CONTACT = 125.1641 * 0.72  # £, NCC 2023/24 CHS N11AF unit cost at 2010/11 prices
HF_CONTACTS = 8  # specialist-team contacts per patient-year (assumption)
HF_QALY = 0.04  # QALYs per patient-year at quality 1 (mortality RR 0.75, McAlister 2004; see README)
HF_EFFECTS = {"heart_failure_admissions": -0.13,  # (1 − 0.74) × 0.5 HF admissions a patient-year
              "emergency_admission_long_stay": -0.10}  # (1 − 0.81) × 1.2 all-cause, less the HF ones
HF_LAG = 1  # years: the admissions avoided fall in the year after enrolment


def programme(services: pd.DataFrame, offers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                        pd.DataFrame]:
    """Add the heart-failure programme to the PCT's tables: its service row (discretionary,
    long-term conditions, at home), offers from the community FT (the incumbent of heart-failure
    nursing) and Liverpool Heart and Chest (the specialist trust), and its effects rows."""
    price = round(HF_CONTACTS * CARDIAC_NURSE_CONTACT, 2)
    row = {column: "" for column in services.columns}
    row.update(service=PROGRAMME, name="Heart failure integrated care", category="long_term_conditions",
               setting="home", demand=str(HF_PATIENTS), cost_cv="0.3", mandatory="false",
               qaly_gain=str(HF_QALY), allowed_levels="pct")
    services = pd.concat([services, pd.DataFrame([row])], ignore_index=True)
    new = [  # provider, capacity share of demand, price factor, quality, setup £
        ("wirral_community_ft", 1.0, 1.0, 0.80, 25_000),
        ("lhch_ft", 0.5, 1.15, 0.88, 30_000),
    ]
    rows = [{"provider": provider, "service": PROGRAMME, "capacity": str(round(HF_PATIENTS * share)),
             "price": str(round(price * factor, 2)), "quality": str(quality), "capacity_use": "0",
             "setup_cost": str(setup), "incumbent_volume": "0"}
            for provider, share, factor, quality, setup in new]
    offers = pd.concat([offers, pd.DataFrame(rows, columns=offers.columns)], ignore_index=True)
    effects = pd.DataFrame([{"source": PROGRAMME, "target": target, "factor": factor, "lag": HF_LAG}
                            for target, factor in HF_EFFECTS.items()])
    return services, offers, effects


def write(base: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("levels.csv", "providers.csv", "level_effects.csv"):
        shutil.copyfile(base / name, out / name)
    services = pd.read_csv(base / "services.csv", dtype=str, keep_default_na=False)
    offers = pd.read_csv(base / "offers.csv", dtype=str, keep_default_na=False)
    services, offers, effects = programme(services, offers)
    effects.to_csv(out / "effects.csv", index=False, lineterminator="\n")
    ltc = services["category"] == "long_term_conditions"
    ltc_offer = offers["service"].isin(services.loc[ltc, "service"]) & (offers["capacity"] != "")
    offers.loc[ltc_offer, "capacity"] = (offers.loc[ltc_offer, "capacity"].astype(float)
                                         * LTC_CAPACITY_GROWTH).round().astype(int).astype(str)
    offers.to_csv(out / "offers.csv", index=False, lineterminator="\n")
    services["growth"] = ""
    services.loc[ltc, "growth"] = services.loc[ltc, "setting"].map(LTC_GROWTH).map(str)
    services.to_csv(out / "services.csv", index=False, lineterminator="\n")
    config = yaml.safe_load((base / "instance.yaml").read_text(encoding="utf-8"))
    config.update(
        name="pct_5y",
        description=("The 320,000-person PCT of instances/pct planning 2011/12-2015/16: flat "
                     "budgets, 4 % a year tariff efficiency, ageing long-term-condition demand "
                     "and a target to shift that care out of hospital"),
        base_year=BASE_YEAR, horizon=YEARS)
    config["policy"].update(
        budget=[BUDGET_PER_YEAR] * YEARS, break_even="annual", break_even_window=3,
        demand_growth=GENERAL_GROWTH, price_change=PRICE_CHANGE, min_contract_years=1,
        setting_targets=[{"category": "long_term_conditions", "settings": ["community", "home"],
                          "min_share": SHIFT_TARGET}])
    text = yaml.safe_dump(config, sort_keys=False, width=100, allow_unicode=True)
    (out / "instance.yaml").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, default=ROOT / "instances" / "pct")
    parser.add_argument("--out", type=Path, default=ROOT / "instances" / "pct_5y")
    args = parser.parse_args()
    write(args.base, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
