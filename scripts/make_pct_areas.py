"""Write instances/pct_areas: the PCT instance with its localities (issue 17).

Why a copy: adding areas to instances/pct would change nothing by itself (one purse, demand
split by need), but the copy also asks for fair shares and pools the local authority's money,
which changes the optimum, and the pinned PCT optimum must stay the PCT's.

Localities: the Wirral practices (CCG 12F in ``gp-reg-pat-prac-all_jan2021.csv``, the CCG the
PCT instance is modelled on) grouped by postcode district into Wirral's four traditional
localities (Birkenhead CH41-43; Wallasey CH44-45; West Wirral CH46-49 and CH60-61; South Wirral
CH62-66). Population: each locality's registered patients scaled to the instance's 320,000.
Need: the list-weighted mean IMD 2019 score of its practices (``cqc_gp_practice_ratings.csv``,
column IMD; practices without a score take the CCG mean), turned into a need index
need = 0.7 + 0.3 × IMD_a / IMD_mean (an assumption: deprivation explains about a third of the
variation in need, the rough order of the deprivation weights in NHS capitation formulas; not
the formula itself). With ``--areas K`` the practices are cut into K groups of consecutive
postcodes instead (the scale measurements of scripts/bench.py).

    python scripts/make_pct_areas.py --nhs-data ../shared/data/nhs --out instances/pct_areas
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

LOCALITIES = {"birkenhead": (41, 42, 43), "wallasey": (44, 45),
              "west_wirral": (46, 47, 48, 49, 60, 61), "south_wirral": (62, 63, 64, 65, 66)}
NAMES = {"birkenhead": "Birkenhead", "wallasey": "Wallasey", "west_wirral": "West Wirral",
         "south_wirral": "South Wirral"}
POPULATION = 320_000


def practices(nhs: Path) -> pd.DataFrame:
    """Wirral's practices with list size, postcode district number and IMD score."""
    lists = pd.read_csv(nhs / "gp-reg-pat-prac-all_jan2021.csv")
    wirral = lists.loc[lists["CCG_CODE"] == "12F", ["CODE", "POSTCODE", "NUMBER_OF_PATIENTS"]]
    imd = pd.read_csv(nhs / "cqc_gp_practice_ratings.csv").drop_duplicates("Practice.Code")
    wirral = wirral.merge(imd[["Practice.Code", "IMD"]], left_on="CODE", right_on="Practice.Code",
                          how="left")
    mean = np.average(wirral["IMD"].dropna(), weights=wirral.loc[wirral["IMD"].notna(),
                                                                   "NUMBER_OF_PATIENTS"])
    wirral["IMD"] = wirral["IMD"].fillna(mean)
    wirral["district"] = wirral["POSTCODE"].str.extract(r"^CH(\d+)")[0].astype(float)
    return wirral.sort_values(["POSTCODE", "CODE"]).reset_index(drop=True)


def areas_of(wirral: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """areas.csv rows: the four localities, or k groups of consecutive postcodes."""
    if k is None:
        group = pd.Series("", index=wirral.index)
        for name, districts in LOCALITIES.items():
            group[wirral["district"].isin(districts)] = name
        group[group == ""] = "south_wirral"  # a practice outside the listed districts
    else:
        group = pd.Series([f"area_{i + 1:02d}" for i in
                           np.floor(np.arange(len(wirral)) * k / len(wirral)).astype(int)])
    frame = wirral.assign(area=group.to_numpy(), score=wirral["IMD"] * wirral["NUMBER_OF_PATIENTS"])
    sums = frame.groupby("area", sort=False)[["NUMBER_OF_PATIENTS", "score"]].sum()
    imd = sums["score"] / sums["NUMBER_OF_PATIENTS"]
    mean = sums["score"].sum() / sums["NUMBER_OF_PATIENTS"].sum()
    population = np.round(sums["NUMBER_OF_PATIENTS"] * POPULATION / sums["NUMBER_OF_PATIENTS"].sum())
    population.iloc[-1] += POPULATION - population.sum()  # rounding: sum exactly 320,000
    out = pd.DataFrame({"area": sums.index,
                        "name": [NAMES.get(a, a.replace("_", " ")) for a in sums.index],
                        "population": population.astype(int).to_numpy(),
                        "need_index": np.round(0.7 + 0.3 * imd / mean, 4).to_numpy(),
                        "imd_score": np.round(imd, 2).to_numpy()})
    return out


def write(nhs: Path, out: Path, k: int | None, source: Path) -> None:
    """Copy the PCT instance to ``out`` with areas.csv and the area policy."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    areas = areas_of(practices(nhs), k)
    budget_share = areas["population"] * areas["need_index"]
    config = yaml.safe_load((source / "instance.yaml").read_text())
    budget = float(config["policy"]["budget"])
    # practice-based commissioning: each locality's indicative budget is its fair share (by
    # population × need) of the whole budget, since an area's reported spend is all the spend
    # attributed to it (a share of the budget would make every locality "overspend")
    areas["indicative_budget"] = np.round(budget * budget_share / budget_share.sum(), -3)
    areas.drop(columns="imd_score").to_csv(out / "areas.csv", index=False)
    config["name"] = "pct_areas" if k is None else f"pct_{k}_areas"
    config["description"] = (f"{config['description']}, in {len(areas)} localities with fair "
                             "shares of spend and £5m pooled by the local authority")
    config["policy"].update({"fair_share_band": 0.1, "savings_retention": 0.5,
                             "la_contribution": 5_000_000})
    (out / "instance.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    services = pd.read_csv(out / "services.csv", dtype=str, keep_default_na=False)
    if "min_coverage" not in services:
        services["min_coverage"] = ""
    services["min_area_coverage"] = ""
    talking = services["service"] == "talking_therapies"  # discretionary: partly covered
    services.loc[talking, ["min_coverage", "min_area_coverage"]] = ["0.5", "0.4"]
    services.to_csv(out / "services.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nhs-data", type=Path, default=Path("../shared/data/nhs"))
    parser.add_argument("--out", type=Path, default=Path("instances/pct_areas"))
    parser.add_argument("--areas", type=int, default=None)
    parser.add_argument("--source", type=Path, default=Path("instances/pct"))
    args = parser.parse_args()
    write(args.nhs_data, args.out, args.areas, args.source)


if __name__ == "__main__":
    main()
