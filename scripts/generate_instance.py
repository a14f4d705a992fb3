"""Generate realistic commissioning instances, from a toy area up to England around 2010.

``python scripts/generate_instance.py --scale {toy,pct,region,england} --seed N --out DIR``

Why a generator as well as the hand-made ``instances/pct``: performance has to be measured on
instances of realistic *shape* at every size, and an England-size instance (300+ services, 700
providers, tens of thousands of offers) cannot be written by hand. Every figure is drawn from the
public NHS data in ``data/nhs/`` (beside the shared ``MODEL.md``), from ``DOMAIN.md``, or from an
assumption stated in this file and repeated in the instance README. The ideas (and the figures
of GP and tariff prices, the deflator, CQC and A&E quality scores) are those of
``scripts/make_pct_instance.py``.

The model plans for ONE commissioning area of ``population`` people. The continuum's levels are
unit sizes taken from England in 2010 (8,000 practices of ~6,500, ~300 localities, 152 PCTs, 10
regional groups, 4 supra-regional, 1 national), so in an England-size instance a practice-level
contract is replicated over 8,000 units in transaction cost terms, and in a PCT-size one a
regional contract is a share (0.07) of one.

Output is byte-identical for a given scale, seed and data: the only randomness is one
``numpy.random.default_rng(seed)`` consumed in a fixed order, iteration is over sorted lists,
and numbers are written with fixed rounding.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
# shared with the PCT instance's generator: sources, £ conversions and the CSV writing
from make_pct_instance import (  # noqa: E402
    COLUMNS,
    CQC_SCORE,
    DEFAULT_NHS_DATA,
    DEFLATOR,
    LEVEL_NAMES,
    REPO,
    RISK_AVERSION,
    VALUE_PER_QALY,
    fmt,
    read_ncc,
    write_csv,
)
from make_pct_instance import trust_quality as pct_trust_quality  # noqa: E402

ENGLAND_2010 = 52_000_000
"""England's population around 2010 (DOMAIN.md: ~52 million)."""
ENGLAND_NCC = 56_500_000
"""England's population in 2023/24, the year of the NCC activity (Census 2021: 56.5 million)."""
LIST_TOTAL_2023 = 62_100_000
"""Registered patients in gp_payments_22-23.csv (62.1 million; lists exceed the population)."""
GMS_PRICE, PMS_PRICE = 69.44, 91.93
"""£ per registered patient a year, GMS and PMS core contracts (DOMAIN.md, seed 002)."""
BED_OCCUPANCY = 0.92
"""Bed-days a year = (overnight beds × 365 + day beds × 250) × 0.92, as make_pct_instance.py."""

# --- the continuum: unit sizes from England 2010 (DOMAIN.md) --------------------------------

LEVELS = [
    # level, order, units in England, transaction £/contract/unit, risk tolerance, max services
    ("personal", 1, ENGLAND_2010, 0.5, None, None),
    ("practice", 2, 8_000, 500.0, 0.20, 6),
    ("locality", 3, 306, 5_000.0, 0.15, 12),
    ("pct", 4, 152, 15_000.0, 0.12, None),
    ("joint_la", 5, 152, 20_000.0, 0.12, None),
    ("regional", 6, 10, 40_000.0, 0.12, None),
    ("supra_regional", 7, 4, 60_000.0, 0.12, None),
    ("national", 8, 1, 100_000.0, None, None),
]
"""Population per unit = 52 million / number of units: practices ~6,500, localities ~170,000,
PCTs ~342,000. Transaction costs and risk tolerances are those of instances/pct."""
LEVEL_POP = {lv: round(ENGLAND_2010 / units) for lv, _o, units, *_ in LEVELS}
LEVEL_ORDER = [lv for lv, *_ in LEVELS]
LEVEL_EFFECTS = [("personal", "long_term_conditions", 0.93),
                 ("practice", "long_term_conditions", 0.95),
                 ("locality", "long_term_conditions", 0.97)]


@dataclass(frozen=True)
class Scale:
    """How big an instance is: services kept, which area, and how many providers of each kind."""

    name: str
    services: int | None  # the largest N service groups by national cost; None = all
    levels: tuple[str, ...]
    independent: int
    voluntary: int
    social_enterprise: int
    named_practices: int  # pct/toy: practices named individually (the rest are one aggregate)


SCALES = {
    "toy": Scale("toy", 10, ("practice", "locality", "pct", "regional"), 1, 0, 0, 2),
    "pct": Scale("pct", 100, tuple(LEVEL_ORDER), 5, 3, 2, 12),
    "region": Scale("region", 240, tuple(LEVEL_ORDER), 24, 14, 10, 0),
    "england": Scale("england", None, tuple(LEVEL_ORDER), 80, 60, 40, 0),
}

# --- services: NCC groups at HRG sub-chapter × point of delivery ----------------------------

POD = {"Elective Inpatients": "elective", "Daycase": "elective",
       "Non-Elective Inpatient - Short Stay": "emergency",
       "Non-Elective Inpatient - Long Stay": "emergency"}
POD_SHORT = {"elective": "el", "emergency": "nel", "Outpatient Procedures": "opp",
             "Regular Day or Night Admissions": "rdna", "Rehabilitation Inpatient": "rehab",
             "Community Health Service": "chs", "Directly Accessed Diagnostic Services": "dads",
             "Consultant Led": "op_cl", "Non Consultant Led": "op_ncl",
             "Diagnostic Imaging": "imaging", "Ambulance": "ambulance", "Critical care": "cc",
             "Audiology": "audiology", "High Cost Devices": "devices", "Renal Dialysis": "dialysis",
             "Critical care transport": "cc_transport", "Cancer MDT": "cancer_mdt",
             "NHS Talking Therapy Care Contact": "talking_therapy",
             "Mental Health Care Contact": "mh_contact", "Mental Health Provider Spell": "mh_spell",
             "National screening programmes": "screening",
             "Directly Accessed Pathology Services": "pathology", "Nuclear Medicine": "nuclear",
             "Emergency Care": "ae"}
BED_DAYS = {"elective": 2.0, "emergency": 4.0, "Rehabilitation Inpatient": 12.0,
            "Regular Day or Night Admissions": 0.3, "Critical care": 1.0}
"""Nominal bed-days per episode by point of delivery (the elective and emergency groups mix day
cases and short stays with long stays). Assumption, checked against the KH03 bed base: the
status quo then fills roughly the real G&A beds nationally."""
SPECIALISED_KEYS = {"SA", "SB", "SC", "XA", "XB", "LA", "JB", "ED"}
"""HRG sub-chapters commissioned as specialised services: haematology and chemotherapy (SA, SB),
radiotherapy (SC), neonatal and paediatric critical care (XA, XB), renal (LA), burns (JB),
cardiac surgery (ED)."""
MIN_ACTIVITY, MIN_COST = 50, 1_000_000
"""NCC groups below 50 episodes or £1m a year nationally are dropped (suppressed, or too small
to plan as a service)."""


@dataclass
class ServiceSpec:
    """One service and the facts its rows are made from."""

    service: str
    category: str
    setting: str
    national: float  # episodes a year in England, 2023/24 (or assumed)
    price: float  # £ per episode, 2010/11
    tariff: bool
    cost_cv: float
    supply: str  # which providers offer it (see offer_rules)
    bed_days: float = 0.0
    source: str = ""
    mandatory: bool = True
    qaly_gain: float = 0.0
    allowed: tuple[str, ...] = ()
    min_quality: float | None = None
    min_avg_quality: float | None = None
    min_providers: int | None = None
    choice_headroom: float | None = None
    min_share: float | None = None
    demand: float = 0.0


def group_key(code: str) -> str:
    """HRG sub-chapter (first two letters of an HRG4 code), else the currency's stem."""
    if re.match(r"^[A-Z]{2}\d{2}", code):
        return code[:2]
    match = re.match(r"^([A-Z]\d{2}|[A-Z]{2,}|\d+)", code)
    return match.group(1) if match else code


def classify(pod: str, key: str) -> tuple[str, str, str, bool]:
    """(category, setting, supply, tariff) of an NCC group; PbR tariff for admitted and OP care."""
    if key in SPECIALISED_KEYS or pod in ("Renal Dialysis", "Cancer MDT") or key in ("XA", "XB"):
        return "specialised", "hospital", "acute", pod in ("elective", "emergency")
    if pod in ("elective", "emergency") and key in ("NZ", "NC", "NS"):
        return "maternity", "hospital", "acute", True
    if pod in ("elective", "Outpatient Procedures", "Consultant Led", "Non Consultant Led"):
        return "elective", "hospital", "acute_is", True
    if pod in ("Diagnostic Imaging", "Directly Accessed Diagnostic Services", "Audiology",
               "Directly Accessed Pathology Services", "Nuclear Medicine"):
        return "elective", "hospital", "acute_is", False
    if pod in ("emergency", "Emergency Care", "Critical care", "Critical care transport"):
        return "urgent", "hospital", "acute", pod == "emergency"
    if pod == "Ambulance":
        return "urgent", "home", "ambulance", False
    if pod in ("Mental Health Care Contact", "Mental Health Provider Spell",
               "NHS Talking Therapy Care Contact"):
        return "mental_health", "community", "mental_health", False
    if pod == "National screening programmes":
        return "primary", "community", "acute_is", False
    if pod == "Community Health Service":
        if key == "M01":
            return "primary", "community", "dental", False
        if key == "N01":
            return "maternity", "home", "community", False
        if re.match(r"^N(0[6-9]|1\d|2\d)$", key):
            return "long_term_conditions", "community", "community", False
        home = key in ("N02", "N03", "N12", "IC", "N21", "SCRT", "NCRT", "MCCRT", "OSCCRT")
        return "community", "home" if home else "community", "community", False
    return "elective", "hospital", "acute", False  # regular day/night, rehabilitation, devices


def service_catalogue(ncc: pd.DataFrame) -> list[ServiceSpec]:
    """Every NCC group (sub-chapter × point of delivery) with enough activity, largest first."""
    ncc = ncc.assign(pod=ncc["dept"].map(POD).fillna(ncc["dept"]),
                     key=ncc["code"].map(group_key))
    groups = (ncc.groupby(["pod", "key"], sort=True)
              .agg(activity=("activity", "sum"), cost=("cost", "sum"), rows=("code", "size"))
              .reset_index())
    groups = groups[(groups["activity"] >= MIN_ACTIVITY) & (groups["cost"] >= MIN_COST)]
    groups = groups.sort_values(["cost", "pod", "key"], ascending=[False, True, True])
    specs = []
    for row in groups.itertuples(index=False):
        category, setting, supply, tariff = classify(row.pod, row.key)
        unit = row.cost / row.activity
        specs.append(ServiceSpec(
            service=f"{POD_SHORT[row.pod]}_{row.key.lower()}", category=category, setting=setting,
            national=float(row.activity), price=round(unit * DEFLATOR, 2), tariff=tariff,
            cost_cv=round(float(np.clip(0.15 + 0.1 * math.log10(max(unit, 10) / 10), 0.1, 0.8)), 2),
            supply=supply, bed_days=BED_DAYS.get(row.pod, 0.0),
            source=f"NCC {row.pod} `{row.key}` ({row.rows} rows)"))
    return specs


ASSUMED = [
    # service, category, setting, episodes per person a year, £ 2010/11, supply, why
    ("gp_core_services", "primary", "community", 1.0, GMS_PRICE, "gp",
     "registered patient-years = population; GMS price per patient (DOMAIN.md, seed 002)"),
    ("reablement", "social_care", "home", 0.004, 1600.0, "social",
     "as instances/pct: 4 episodes per 1,000 people, £1,600 an episode"),
    ("home_care_hours", "social_care", "home", 0.78, 15.0, "social",
     "as instances/pct: NHS share of jointly funded home care, £15 an hour"),
    ("nursing_home_fnc", "social_care", "community", 0.179, 108.70, "social",
     "as instances/pct: resident-weeks of NHS-funded nursing care, £108.70 a week"),
    ("community_equipment", "social_care", "home", 0.075, 65.0, "social",
     "as instances/pct: items from a joint equipment store, £65 an item"),
]
"""Services with no NCC row, per person a year from instances/pct (320,000 people)."""


# --- the area and its providers -------------------------------------------------------------

@dataclass
class Provider:
    """One provider row and the facts behind it."""

    provider: str
    kind: str
    role: str  # acute | ambulance | mental_health | community | gp | federation | la | is | vol | se
    name: str
    quality: float
    beds: float = 0.0  # bed-days a year this area may use (acute trusts), 0 = no shared cap
    size: float = 1.0  # weight in the status-quo split of activity
    list_size: float = 0.0  # GP providers: registered patients (area basis)
    contract_price: float = GMS_PRICE
    newcomer: bool = False  # not an incumbent today: has an entry cost
    entry_cost: float = 0.0
    min_income_share: float = 0.0
    exit_share: float = 0.0
    conflicted: tuple[str, ...] = ()
    source: str = ""


@dataclass
class Area:
    """The planning area: population, its name, and its real providers."""

    name: str
    population: int
    description: str
    providers: list[Provider] = field(default_factory=list)


def read_trusts(data: Path) -> pd.DataFrame:
    """KH03 beds with a 2023/24 A&E 4-hour quality score, for every acute trust."""
    beds = pd.read_csv(data / "englandTrusts_kh03_q3_2019_20.csv")
    ae = pd.read_csv(data / "england_trust_accidents_emergency.csv")
    ae["date"] = pd.to_datetime(ae["date"], format="%B %Y")
    year = ae[(ae["date"] >= "2023-04-01") & (ae["date"] < "2024-04-01")]
    sums = year.groupby("nhs_trust22_code")[["total_attendances", "attendances_over_4hours"]].sum()
    sums = sums[sums["total_attendances"] > 0]
    over = sums["attendances_over_4hours"] / sums["total_attendances"]
    beds["over_4h"] = beds["trustId"].map(over)
    return beds.sort_values("trustId").reset_index(drop=True)


def read_other_trusts(data: Path, acute: set[str]) -> pd.DataFrame:
    """Open non-acute NHS trusts from the ODS etr file: ambulance, community, mental health."""
    etr = pd.read_csv(data / "etr.csv", header=None, dtype=str, keep_default_na=False)
    etr = etr[[0, 1, 2, 10, 11]]
    etr.columns = ["code", "name", "region", "opened", "closed"]
    etr = etr[(etr["closed"] == "") & (etr["opened"] < "20250101") & (etr["region"] != "")
              & ~etr["code"].isin(acute)]
    role = np.where(etr["name"].str.contains("AMBULANCE"), "ambulance",
                    np.where(etr["name"].str.contains("COMMUNITY"), "community", "mental_health"))
    return etr.assign(role=role).sort_values("code").reset_index(drop=True)


def read_practices(data: Path) -> pd.DataFrame:
    """Practices 2022/23: region, sub-ICB, list size, contract type, CQC score."""
    pay = pd.read_csv(data / "gp_payments_22-23.csv", encoding="utf-8-sig", low_memory=False)
    pay = pay[["NHS England (Region) code", "CCG Code", "Sub ICB NAME", "Practice Code",
               "Practice Name", "Contract Type",
               "Number of Registered Patients (Last Known Figure)"]]
    pay.columns = ["region", "sub_icb", "sub_icb_name", "code", "name", "contract", "patients"]
    pay = pay[pay["patients"] > 0].drop_duplicates("code")
    cqc = pd.read_csv(data / "cqc_gp_practice_ratings.csv")
    cqc = cqc.sort_values(["Year", "Practice.Code"]).drop_duplicates("Practice.Code", keep="last")
    rating = pay["code"].map(cqc.set_index("Practice.Code")["latest_rating"]).fillna("Good")
    pay = pay.assign(rating=rating, quality=rating.map(CQC_SCORE).fillna(CQC_SCORE["Good"]))
    return pay.sort_values("code").reset_index(drop=True)


def trust_quality(over_4h: float) -> float:
    """make_pct_instance's mapping from the A&E 4-hour share; 0.75 where a trust reports none."""
    return 0.75 if pd.isna(over_4h) else pct_trust_quality(over_4h)


def bed_days(beds: float, day_beds: float) -> float:
    return (beds * 365 + day_beds * 250) * BED_OCCUPANCY


def acute_providers(trusts: pd.DataFrame, share: dict[str, float]) -> list[Provider]:
    """Acute trusts from KH03, each with the share of its beds this area uses."""
    out = []
    for row in trusts.itertuples(index=False):
        if row.trustId not in share:
            continue
        kind = "foundation_trust" if "FOUNDATION" in row.trustName else "nhs_trust"
        out.append(Provider(
            f"rx_{row.trustId.lower()}", kind, "acute", row.trustName.title(),
            trust_quality(row.over_4h), beds=bed_days(row.acuteBeds, row.dayBeds) * share[row.trustId],
            size=float(row.acuteBeds + row.dayBeds) * share[row.trustId],
            source="KH03 acuteBeds, dayBeds; A&E 4-hour performance 2023/24"))
    return out


def other_trust_providers(other: pd.DataFrame, rng: np.random.Generator) -> list[Provider]:
    """Ambulance, community and mental-health trusts (etr.csv); quality assumed with jitter."""
    out = []
    base = {"ambulance": 0.76, "community": 0.79, "mental_health": 0.78}
    for row in other.itertuples(index=False):
        kind = "foundation_trust" if "FOUNDATION" in row.name else (
            "community_provider" if row.role == "community" else "nhs_trust")
        out.append(Provider(f"rx_{row.code.lower()}", kind, row.role, row.name.title(),
                            round(float(np.clip(base[row.role] + rng.normal(0, 0.04), 0.5, 0.95)), 2),
                            source="etr.csv (name, region); quality assumed"))
    return out


def gp_providers(practices: pd.DataFrame, population: int, named: int) -> list[Provider]:
    """GP providers: named practices (plus one aggregate), or one group per sub-ICB.

    List sizes are scaled to the area's population (lists exceed the resident population)."""
    factor = population / practices["patients"].sum()
    out = []
    if named:
        table = practices.sort_values(["patients", "code"], ascending=[False, True])
        head, rest = table.head(named), table.iloc[named:]
        for row in head.itertuples(index=False):
            out.append(Provider(f"gp_{row.code.lower()}", "gp_practice", "gp", row.name.title(),
                                float(row.quality), size=row.patients * factor,
                                list_size=row.patients * factor,
                                contract_price=PMS_PRICE if row.contract == "PMS" else GMS_PRICE,
                                conflicted=("practice",),
                                source=f"gp_payments_22-23.csv list size, {row.contract}; "
                                       f"CQC {row.rating}"))
        groups = [("gp_other_practices", f"the other {len(rest)} practices (aggregate)", rest)]
    else:
        groups = [(f"gp_{code.lower()}", f"practices of {frame['sub_icb_name'].iloc[0].title()}",
                   frame) for code, frame in practices.groupby("sub_icb", sort=True)]
    for pid, name, frame in groups:
        if frame.empty:
            continue
        weight = frame["patients"]
        pms = float(weight[frame["contract"] == "PMS"].sum() / weight.sum())
        out.append(Provider(pid, "gp_practice", "gp", name,
                            round(float((frame["quality"] * weight).sum() / weight.sum()), 3),
                            size=float(weight.sum()) * factor, list_size=float(weight.sum()) * factor,
                            contract_price=round(GMS_PRICE * (1 - pms) + PMS_PRICE * pms, 2),
                            conflicted=("practice",),
                            source=f"{len(frame)} practices: list sizes, contract mix, "
                                   "list-weighted CQC score"))
    return out


def synthetic_providers(scale: Scale, localities: int, pcts: int,
                        rng: np.random.Generator) -> list[Provider]:
    """Federations, local authorities, independent, voluntary and social-enterprise providers.

    None has a public per-provider data file: counts are per scale, qualities assumed (kind
    default + jitter), and about half of the independent, voluntary and social-enterprise
    providers are new entrants with an entry cost (DOMAIN.md: market development)."""
    out = []

    def quality(base: float) -> float:
        return round(float(np.clip(base + rng.normal(0, 0.05), 0.45, 0.97)), 2)

    for i in range(max(1, localities // 4)):
        out.append(Provider(f"fed_{i + 1:03d}", "gp_federation", "federation",
                            f"GP federation {i + 1}", quality(0.78), newcomer=True,
                            entry_cost=50_000.0, source="assumed"))
    for i in range(max(1, pcts)):
        out.append(Provider(f"la_{i + 1:03d}", "local_authority", "la",
                            f"Local authority {i + 1} (adult social services)", quality(0.76),
                            exit_share=0.1, source="assumed"))
    for role, kind, count, base, entry in (("is", "independent", scale.independent, 0.80, 200_000),
                                           ("vol", "voluntary", scale.voluntary, 0.82, 20_000),
                                           ("se", "social_enterprise", scale.social_enterprise,
                                            0.77, 60_000)):
        for i in range(count):
            newcomer = bool(rng.random() < 0.5)
            out.append(Provider(f"{role}_{i + 1:03d}", kind, role, f"{kind.replace('_', ' ')} {i + 1}",
                                quality(base), newcomer=newcomer,
                                entry_cost=round(entry * float(rng.uniform(0.5, 1.5)), -3)
                                if newcomer else 0.0,
                                min_income_share=0.85 if (role == "is" and not newcomer
                                                          and rng.random() < 0.3) else 0.0,
                                exit_share=0.0 if newcomer else 0.1, source="assumed"))
    return out


def nearest(trusts: pd.DataFrame, home: pd.Series, count: int) -> list[str]:
    """The ``count`` acute trusts nearest ``home`` (approximate latitude/longitude)."""
    scale = math.cos(math.radians(float(home["approxLat"])))
    dist = np.hypot(trusts["approxLat"] - home["approxLat"],
                    (trusts["approxLong"] - home["approxLong"]) * scale)
    order = np.lexsort((trusts["trustId"].to_numpy(), dist.to_numpy()))
    return [trusts["trustId"].iloc[i] for i in order[:count]]


def choose_area(scale: Scale, data: Path, rng: np.random.Generator) -> Area:
    """The planning area for the scale: a real sub-ICB, an NHS region, or England."""
    trusts = read_trusts(data)
    other = read_other_trusts(data, set(trusts["trustId"]))
    practices = read_practices(data)
    factor = ENGLAND_2010 / LIST_TOTAL_2023
    if scale.name == "england":
        population = ENGLAND_2010
        area = Area("england", population, "England around 2010 (~52 million people)")
        area.providers += acute_providers(trusts, {t: 1.0 for t in trusts["trustId"]})
        area.providers += other_trust_providers(other, rng)
        area.providers += gp_providers(practices, population, 0)
        area.providers += synthetic_providers(scale, 306, 152, rng)
        return area
    if scale.name == "region":
        regions = sorted(practices["region"].unique())
        region = regions[int(rng.integers(len(regions)))]
        own = practices[practices["region"] == region]
        population = int(round(own["patients"].sum() * factor, -3))
        area = Area(f"region_{region.lower()}", population,
                    f"NHS England region {region} ({population:,} people on a 2010 basis)")
        in_region = trusts[trusts["regionId"] == region]
        area.providers += acute_providers(in_region, {t: 1.0 for t in in_region["trustId"]})
        area.providers += other_trust_providers(other[other["region"] == region], rng)
        area.providers += gp_providers(own, population, 0)
        pcts = max(1, round(population / LEVEL_POP["pct"]))
        area.providers += synthetic_providers(scale, round(population / LEVEL_POP["locality"]),
                                              pcts, rng)
        return area
    # pct and toy: a real sub-ICB of PCT size, with the acute trusts nearest a home trust
    lists = practices.groupby("sub_icb", sort=True)["patients"].sum()
    low, high = (200_000, 600_000) if scale.name == "pct" else (120_000, 250_000)
    candidates = sorted(lists[(lists >= low) & (lists <= high)].index)
    sub_icb = candidates[int(rng.integers(len(candidates)))]
    own = practices[practices["sub_icb"] == sub_icb]
    region = own["region"].iloc[0]
    population = int(round(lists[sub_icb] * factor, -3))
    name = own["sub_icb_name"].iloc[0].title()
    area = Area(f"{scale.name}_{sub_icb.lower()}", population,
                f"{name} (sub-ICB {sub_icb}, region {region}), {population:,} people on a 2010 basis")
    in_region = trusts[trusts["regionId"] == region].reset_index(drop=True)
    home = in_region.iloc[int(rng.integers(len(in_region)))]
    count = 5 if scale.name == "pct" else 2
    local = nearest(in_region, home, count)
    share = {t: (0.6 if t == home["trustId"] else 0.12) for t in local}
    if scale.name == "pct":  # two large specialist centres in the region take a small share
        big = in_region[~in_region["trustId"].isin(local)].sort_values(
            ["acuteBeds", "trustId"], ascending=[False, True]).head(2)
        share.update({t: 0.03 for t in big["trustId"]})
    area.providers += acute_providers(in_region, share)
    if scale.name == "pct":
        regional_other = other[other["region"] == region]
        picked = [regional_other[regional_other["role"] == role].head(1)
                  for role in ("ambulance", "community", "mental_health")]
        area.providers += other_trust_providers(pd.concat(picked), rng)
    area.providers += gp_providers(own, population, scale.named_practices)
    area.providers += synthetic_providers(scale, 2, 1, rng)
    return area


# --- offers ---------------------------------------------------------------------------------

SUPPLY = {
    "acute": ("acute",),
    "acute_is": ("acute", "is"),
    "ambulance": ("ambulance",),
    "mental_health": ("mental_health", "vol", "se"),
    "community": ("community", "federation", "se", "vol", "acute"),
    "dental": ("community", "is"),
    "gp": ("gp",),
    "social": ("la", "is", "vol"),
}
"""Which provider roles may offer a service of each supply type."""
FALLBACK = ("community", "acute")
"""Roles that stand in, in this order, where an area has no provider of a service's first role
(a small area may have no ambulance, mental-health or community trust of its own)."""
ROLE_RATE = {"acute": 1.0, "is": 0.3, "vol": 0.3, "se": 0.3, "federation": 0.5, "community": 1.0,
             "ambulance": 1.0, "mental_health": 1.0, "gp": 1.0, "la": 1.0}
"""Chance a provider of the role offers a service it could supply (acute trusts: see below)."""


def acute_fraction(national: float) -> float:
    """Share of acute trusts offering a service: common services nearly all, rare ones a few
    centres (0.08 at 100 episodes a year nationally, 0.44 at 10,000, 0.89 at a million)."""
    return float(np.clip((math.log10(max(national, 1.0)) - 2.0) / 4.5, 0.08, 0.92))


def choose_offerers(svc: ServiceSpec, providers: list[Provider],
                    rng: np.random.Generator) -> list[Provider]:
    """The providers offering ``svc``: by supply role; acute centres weighted by size."""
    roles = SUPPLY[svc.supply]
    chosen: list[Provider] = []
    for role in roles:
        pool = [p for p in providers if p.role == role]
        for stand_in in FALLBACK if role == roles[0] else ():
            pool = pool or [p for p in providers if p.role == stand_in]
        if role == "acute" and pool:
            rate = acute_fraction(svc.national) if svc.supply != "community" else 0.2
            keep = max(1 if svc.supply == "community" else 2, round(rate * len(pool)))
            weight = np.array([p.size for p in pool]) * rng.uniform(0.5, 1.5, len(pool))
            order = np.lexsort((np.arange(len(pool)), -weight))
            chosen += [pool[i] for i in sorted(order[:keep])]
        else:
            draws = rng.random(len(pool))
            chosen += [p for p, u in zip(pool, draws) if u < ROLE_RATE[role] or role == roles[0]]
    seen: set[str] = set()  # a stand-in (an acute trust for community care) may appear twice
    return [p for p in chosen if not (p.provider in seen or seen.add(p.provider))]


@dataclass
class Offer:
    provider: Provider
    capacity: float | None
    price: float
    quality: float
    incumbent: float
    setup: float


def make_offers(svc: ServiceSpec, offerers: list[Provider],
                rng: np.random.Generator) -> list[Offer]:
    """Status-quo split of demand over incumbents by size, capacities with spare room.

    Incumbents of the service's main role (e.g. acute trusts) share the demand by size (beds,
    list) × a 0.7–1.3 draw; other incumbents (an independent provider of elective care, a
    charity in mental health) hold 1–5 % each. Capacity = incumbent volume × 1.05–
    1.5 (DOMAIN.md: choice needs spare capacity); new entrants may take 2–15 % of demand. GP core
    services: a practice's list (capacity = list × 1.02). Local prices vary ±10 % around the
    reference; tariff services pay the tariff."""
    incumbents = [p for p in offerers if not p.newcomer]
    main_role = incumbents[0].role if incumbents else ""
    minor = [p for p in incumbents if p.role != main_role]
    minor_share = rng.uniform(0.01, 0.05, len(minor))  # each minor incumbent's share of demand
    major = [p for p in incumbents if p.role == main_role]
    weights = np.array([p.size for p in major]) * rng.uniform(0.7, 1.3, len(major))
    weights = weights / weights.sum() * max(0.0, 1.0 - float(minor_share.sum()))
    shares = dict(zip([p.provider for p in major], weights))
    shares.update(zip([p.provider for p in minor], minor_share))
    offers = []
    for p in offerers:
        quality = round(float(np.clip(p.quality + rng.normal(0, 0.03), 0.3, 0.98)), 2)
        factor = float(rng.uniform(0.9, 1.1))
        price = p.contract_price if svc.supply == "gp" else round(svc.price * factor, 2)
        if p.newcomer:
            capacity = svc.demand * float(rng.uniform(0.02, 0.15))
            incumbent = 0.0
            setup = round(float(rng.uniform(5_000, 20_000)), -2)
        else:
            incumbent = svc.demand * float(shares[p.provider])
            room = 1.02 if svc.supply == "gp" else float(rng.uniform(1.05, 1.5))
            capacity = incumbent * room
            setup = 0.0
        offers.append(Offer(p, round_up(capacity), price, quality, round_down(incumbent), setup))
    return offers


def round_up(value: float) -> float:
    """Capacities: whole episodes rounded up (two decimals for rare services)."""
    return math.ceil(value) if value >= 100 else math.ceil(value * 100) / 100


def round_down(value: float) -> float:
    return math.floor(value) if value >= 100 else math.floor(value * 100) / 100


# --- services for the area ------------------------------------------------------------------

def eligible_levels(svc: ServiceSpec, population: int, levels: Iterable[str]) -> list[str]:
    """Levels the CV rule of MODEL.md §2 lets commission ``svc`` (before allowed_levels)."""
    tolerance = {lv: tau for lv, _o, _u, _tc, tau, _cap in LEVELS}
    out = []
    for lv in levels:
        if svc.demand <= 0:
            continue
        cv = math.sqrt((1 + svc.cost_cv ** 2) / (svc.demand / population * LEVEL_POP[lv]))
        if tolerance[lv] is None or cv <= tolerance[lv] + 1e-12:
            out.append(lv)
    return out


CATEGORY_LEVELS = {
    "elective": ("practice", "locality", "pct"),
    "urgent": ("locality", "pct"),
    "maternity": ("locality", "pct"),
    "specialised": ("pct",),
    "community": ("practice", "locality", "pct"),
    "long_term_conditions": ("personal", "practice", "locality", "pct"),
    "mental_health": ("locality", "pct", "joint_la"),
    "primary": ("pct",),
    "social_care": ("joint_la",),
}
"""The lowest levels each category may be commissioned at (as instances/pct); specialised and
rare services are also allowed up to the level of their designation (see designate)."""
UPPER = ("regional", "supra_regional", "national")


def designate(svc: ServiceSpec, population: int, levels: tuple[str, ...]) -> tuple[str, ...]:
    """allowed_levels: the category's levels, plus regional/supra-regional/national up to the
    first that can bear the risk (specialised services: at least regional; fewer than 5,000
    episodes nationally: up to national, as DOMAIN.md's very rare treatments)."""
    base = [lv for lv in CATEGORY_LEVELS[svc.category] if lv in levels] or ["pct"]
    if svc.category == "social_care":
        return tuple(base)
    bearing = eligible_levels(svc, population, levels)
    if svc.category == "specialised" or svc.national < 20_000 or not set(base) & set(bearing):
        top = "national" if svc.national < 5_000 else "supra_regional" if \
            svc.national < 20_000 else "regional"
        for lv in UPPER[:UPPER.index(top) + 1]:
            if lv in levels:
                base.append(lv)
                if lv in bearing and lv != "regional":
                    break
        if not set(base) & set(bearing):
            base += [lv for lv in UPPER if lv in levels and lv not in base]
    return tuple(lv for lv in levels if lv in base)


def area_services(scale: Scale, area: Area, catalogue: list[ServiceSpec],
                  rng: np.random.Generator) -> list[ServiceSpec]:
    """The scale's services with area demand, rules and QALY gains."""
    picked = catalogue[:scale.services] if scale.services else list(catalogue)
    specs = [ServiceSpec(name, cat, setting, per_person * ENGLAND_NCC, price, False,
                         0.0 if name == "gp_core_services" else 0.3, supply,
                         source=f"assumption: {why}")
             for name, cat, setting, per_person, price, supply, why in ASSUMED]
    if scale.name == "toy":
        specs = specs[:2]
    specs += picked
    for svc in specs:
        svc.demand = round_down(svc.national * area.population / ENGLAND_NCC) \
            if svc.service != "gp_core_services" else float(area.population)
        svc.allowed = designate(svc, area.population, scale.levels)
        # value per £ of 0.2–1.2 at quality 1 (λ = £20,000 per QALY); assumption
        svc.qaly_gain = round(svc.price * float(rng.uniform(0.2, 1.2)) / VALUE_PER_QALY, 6)
        svc.mandatory = not (svc.category in ("community", "social_care") and rng.random() < 0.3)
        if svc.category == "specialised":
            svc.min_quality = 0.6
    return [s for s in specs if s.demand > 0]


def choice_rules(svc: ServiceSpec, offers: list[Offer], rng: np.random.Generator) -> None:
    """Patient choice for elective care (DOMAIN.md): at least two providers, a little contracted
    headroom, and, where few providers offer it, a minimum share each; an average-quality floor
    a little below the status quo's on some services."""
    capacity = sum(o.capacity or 0.0 for o in offers)
    if svc.category != "elective" or len(offers) < 3 or capacity < 1.2 * svc.demand:
        return
    svc.min_providers = 2
    if rng.random() < 0.5:
        svc.choice_headroom = 0.05
    share = round(0.25 / len(offers), 3)
    if len(offers) <= 10 and sum((o.capacity or 0.0) >= share * svc.demand for o in offers) >= 3:
        svc.min_share = share
    if rng.random() < 0.3:
        volume = sum(o.incumbent for o in offers)
        if volume > 0:
            mean = sum(o.quality * o.incumbent for o in offers) / volume
            svc.min_avg_quality = round(mean - 0.05, 2)


# --- assembling and writing -----------------------------------------------------------------

@dataclass
class Generated:
    scale: Scale
    seed: int
    area: Area
    services: list[ServiceSpec]
    offers: dict[str, list[Offer]]
    tables: dict[str, list[dict[str, str]]]
    budget: float
    status_quo: float


def generate(scale_name: str, seed: int, data: Path = DEFAULT_NHS_DATA) -> Generated:
    """Build every table of an instance of the given scale and seed (no files written)."""
    scale = SCALES[scale_name]
    rng = np.random.default_rng(seed)
    catalogue = service_catalogue(read_ncc(data))
    area = choose_area(scale, data, rng)
    services = area_services(scale, area, catalogue, rng)
    offers: dict[str, list[Offer]] = {}
    for svc in services:
        offerers = choose_offerers(svc, area.providers, rng)
        if not offerers:
            raise SystemExit(f"no provider can offer {svc.service} in {area.name}")
        offers[svc.service] = make_offers(svc, offerers, rng)
        choice_rules(svc, offers[svc.service], rng)
    used = {o.provider.provider for rows in offers.values() for o in rows}
    area.providers = [p for p in area.providers if p.provider in used]
    income, bed_use = status_quo(services, offers)
    tables = {
        "levels": level_rows(scale),
        "services": [service_row(s) for s in services],
        "providers": [provider_row(p, income.get(p.provider, 0.0), bed_use.get(p.provider, 0.0))
                      for p in area.providers],
        "offers": [offer_row(svc, o) for svc in services for o in offers[svc.service]],
        "level_effects": [{"level": lv, "category": cat, "demand_factor": fmt(f)}
                          for lv, cat, f in LEVEL_EFFECTS if lv in scale.levels
                          and any(svc.category == cat for svc in services)],
    }
    spend = sum(income.values())
    budget = float(round(spend + transaction_estimate(services, offers, area), -5))
    return Generated(scale, seed, area, services, offers, tables, budget, spend)


def unit_price(svc: ServiceSpec, offer: Offer) -> float:
    return svc.price if svc.tariff else offer.price


def status_quo(services: list[ServiceSpec],
               offers: dict[str, list[Offer]]) -> tuple[dict[str, float], dict[str, float]]:
    """Each provider's status-quo income (£) and bed-days used."""
    income: dict[str, float] = {}
    beds: dict[str, float] = {}
    for svc in services:
        for o in offers[svc.service]:
            pid = o.provider.provider
            income[pid] = income.get(pid, 0.0) + o.incumbent * unit_price(svc, o)
            if o.provider.beds:
                beds[pid] = beds.get(pid, 0.0) + o.incumbent * svc.bed_days
    return income, beds


def transaction_estimate(services: list[ServiceSpec], offers: dict[str, list[Offer]],
                         area: Area) -> float:
    """£ of transaction costs if each service's incumbents were contracted at its largest
    allowed level: the budget allows for it on top of the status-quo activity spend."""
    cost = {lv: tc for lv, _o, _u, tc, *_ in LEVELS}
    total = 0.0
    for svc in services:
        top = svc.allowed[-1]
        units = area.population / LEVEL_POP[top]
        total += cost[top] * units * sum(1 for o in offers[svc.service] if o.incumbent > 0)
    return total


def level_rows(scale: Scale) -> list[dict[str, str]]:
    return [{"level": lv, "name": LEVEL_NAMES[lv], "order": str(order), "population": fmt(LEVEL_POP[lv], 0),
             "transaction_cost": fmt(tc), "risk_tolerance": fmt(tau), "max_services": fmt(cap),
             "delegated_budget": ""}
            for lv, order, _u, tc, tau, cap in LEVELS if lv in scale.levels]


def service_row(s: ServiceSpec) -> dict[str, str]:
    return {"service": s.service, "category": s.category, "setting": s.setting,
            "demand": fmt(s.demand), "cost_cv": fmt(s.cost_cv),
            "tariff": fmt(s.price) if s.tariff else "",
            "mandatory": "true" if s.mandatory else "false", "qaly_gain": fmt(s.qaly_gain, 6),
            "min_quality": fmt(s.min_quality), "min_avg_quality": fmt(s.min_avg_quality),
            "min_providers": fmt(s.min_providers), "max_providers": "",
            "choice_headroom": fmt(s.choice_headroom), "min_share": fmt(s.min_share, 3),
            "allowed_levels": ";".join(s.allowed)}


NAME_WORDS = {"Nhs": "NHS", "Icb": "ICB", "And": "and", "Of": "of", "The": "the", "For": "for",
              "Upon": "upon", "Gp": "GP"}
"""Words that the source files' title case gets wrong in a provider's name."""


def plain_name(name: str) -> str:
    """providers.csv's ``name``: 'Countess Of Chester Hospital Nhs Foundation Trust' reads
    'Countess of Chester Hospital NHS Foundation Trust'; the first letter is a capital."""
    words = [NAME_WORDS.get(w, w) if i else w for i, w in enumerate(name.split(" "))]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def provider_row(p: Provider, income: float, bed_use: float) -> dict[str, str]:
    """Break-even and exit figures are shares of status-quo income (as instances/pct): acute
    and community trusts need 70 %, GP providers 90 %; exit costs 10–25 %. Bed-days: the real
    bed base this area uses, raised where needed so the status quo fits (1.05 × its use)."""
    incumbent = income > 0
    min_share = p.min_income_share or {"gp": 0.9, "community": 0.7, "ambulance": 0.7}.get(p.role, 0.0)
    if p.role == "acute" and p.size > 400:
        min_share = 0.7  # large acute trusts depend on their commissioners (assumption)
    exit_share = p.exit_share or (0.25 if p.role in ("acute", "gp", "community") else 0.1)
    capacity = max(p.beds, 1.05 * bed_use) if p.beds and bed_use else None
    return {"provider": p.provider, "name": plain_name(p.name), "kind": p.kind,
            "min_income": fmt(round(min_share * income, -3) or None, 0) if incumbent else "",
            "entry_cost": fmt(p.entry_cost or None, 0) if not incumbent else "",
            "exit_cost": fmt(round(exit_share * income, -3) or None, 0) if incumbent else "",
            "incumbent": "true" if incumbent else "false",
            "total_capacity": fmt(round(capacity, -2) if capacity else None, 0),
            "conflicted_levels": ";".join(p.conflicted)}


def offer_row(svc: ServiceSpec, o: Offer) -> dict[str, str]:
    return {"provider": o.provider.provider, "service": svc.service, "capacity": fmt(o.capacity),
            "price": "" if svc.tariff else fmt(o.price), "quality": fmt(o.quality),
            "capacity_use": fmt(svc.bed_days if o.provider.beds else 0.0),
            "setup_cost": fmt(o.setup or None, 0), "incumbent_volume": fmt(o.incumbent)}


def instance_yaml(gen: Generated) -> str:
    config = {
        "name": gen.area.name,
        "description": (f"Generated ({gen.scale.name} scale, seed {gen.seed}): "
                        f"{gen.area.description}, planning 2010/11; {len(gen.services)} services, "
                        f"{len(gen.area.providers)} providers (see README.md)"),
        "currency": "GBP",
        "population": gen.area.population,
        "base_year": 2010,
        "horizon": 1,
        "policy": {"budget": int(gen.budget), "management_cost_cap": None,
                   "value_per_qaly": VALUE_PER_QALY, "risk_aversion": RISK_AVERSION,
                   "break_even": "annual"},
    }
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)


def readme(gen: Generated, command: str) -> str:
    """The instance's README: seed, command, sources of every kind of figure, and its size."""
    kinds: dict[str, int] = {}
    for p in gen.area.providers:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    n_offers = sum(len(v) for v in gen.offers.values())
    categories: dict[str, int] = {}
    for s in gen.services:
        categories[s.category] = categories.get(s.category, 0) + 1
    lines = [
        f"# `{gen.area.name}`: a generated instance ({gen.scale.name} scale, seed {gen.seed})",
        "",
        f"{gen.area.description}, planning one year (2010/11). Generated by",
        "",
        f"    {command}",
        "",
        "The output is byte-identical for the same scale, seed and data files. Do not edit it by",
        "hand: change `scripts/generate_instance.py` and regenerate.",
        "",
        "## Size",
        "",
        f"- population {gen.area.population:,}; levels: {', '.join(gen.scale.levels)}",
        f"- {len(gen.services)} services ("
        + ", ".join(f"{k} {v}" for k, v in sorted(categories.items())) + ")",
        f"- {len(gen.area.providers)} providers ("
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")",
        f"- {n_offers:,} offers",
        f"- status-quo activity spend £{gen.status_quo:,.0f}; budget £{gen.budget:,.0f}",
        "",
        "## Where the figures come from",
        "",
        "Files are those of `data/nhs/README.md` (beside the shared MODEL.md).",
        "",
        "| figure | source | how |",
        "|---|---|---|",
        "| services | `ncc_2023_24.csv` | NCC rows grouped by HRG sub-chapter (first two letters"
        " of the HRG4 code; the stem of other currencies) × point of delivery (elective = EL+DC,"
        " emergency = NES+NEL, others by department); groups under 50 episodes or £1m dropped;"
        " the largest by national cost kept at this scale; plus GP core services and four social"
        " care services assumed as in `instances/pct` |",
        "| demand | `ncc_2023_24.csv` Activity | national activity × population / 56.5 million |",
        "| prices, tariffs | `ncc_2023_24.csv` Cost / Activity | × 0.72 (2023/24 → 2010/11);"
        " admitted and outpatient care is tariffed (PbR), other prices local (± 10 % by"
        " provider) |",
        "| GP prices | DOMAIN.md (seed 002) | GMS £69.44, PMS £91.93 per patient |",
        "| acute trusts | `englandTrusts_kh03_q3_2019_20.csv` | trusts of the area (England:"
        " all 168; region: its own; PCT: the nearest to a home trust and two regional centres),"
        " bed-days = (acuteBeds × 365 + dayBeds × 250) × 0.92 × the area's share |",
        "| trust quality | `england_trust_accidents_emergency.csv` | 0.55 + 0.4 × share seen"
        " within 4 hours, 2023/24 |",
        "| other trusts | `etr.csv` | open non-acute trusts, by name: ambulance, community,"
        " otherwise mental health; quality assumed |",
        "| GP providers | `gp_payments_22-23.csv`, `cqc_gp_practice_ratings.csv` | list sizes,"
        " contract type and CQC rating (Outstanding 0.95, Good 0.80, Requires improvement 0.60,"
        " Inadequate 0.35); practices named individually at PCT/toy scale, one group per sub-ICB"
        " otherwise; lists scaled to the population |",
        "| federations, local authorities, independent, voluntary, social enterprises | assumed |"
        " counts per scale; about half the independent, voluntary and social enterprise"
        " providers are new entrants with an entry cost |",
        "| continuum | DOMAIN.md | units in England: 8,000 practices, 306 localities, 152 PCTs,"
        " 10 regional, 4 supra-regional, 1 national; transaction costs and risk tolerances as"
        " `instances/pct` |",
        "| status quo | assumed | demand split over incumbents by size (beds, list) × 0.7–1.3;"
        " capacity = incumbent volume × 1.05–1.5 |",
        "| break-even, exit | assumed | min income 70 % of status-quo income (large acute,"
        " community, ambulance trusts), 90 % (GP providers); exit 10–25 % |",
        "| QALYs | assumed | value per £ of 0.2–1.2 at quality 1, at £20,000 per QALY |",
        "| budget | assumed | the status quo's cost: its activity spend plus the transaction costs"
        " of every incumbent contract at the service's largest allowed level (a plan that keeps"
        " the status quo there is within budget) |",
        "",
        "Caveats: demand is 2023/24 activity per head, not 2010/11's; HRG4+ groups of 2023/24;"
        " bed counts 2019/20; quality scores, shares, break-even and exit figures are"
        " illustrative assumptions, not assessments of the named organisations.",
        "",
    ]
    return "\n".join(lines)


def write(gen: Generated, out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for table, rows in gen.tables.items():
        write_csv(out / f"{table}.csv", COLUMNS[table], rows)
    (out / "instance.yaml").write_text(instance_yaml(gen), encoding="utf-8")
    (out / "README.md").write_text(readme(gen, command), encoding="utf-8")


def shown_path(out: Path) -> str:
    """The --out folder as the README shows it: relative to the repository when inside it,
    else its name only, so output does not depend on where a temporary folder lives."""
    try:
        return out.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return out.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), required=True)
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--out", type=Path, required=True, help="instance folder to write")
    parser.add_argument("--nhs-data", type=Path, default=DEFAULT_NHS_DATA,
                        help="folder with the public NHS CSV files (default: %(default)s)")
    args = parser.parse_args(argv)
    if not (args.nhs_data / "ncc_2023_24.csv").is_file():
        print(f"error: {args.nhs_data} lacks the public NHS files of data/nhs/README.md; "
              "nothing was written.", file=sys.stderr)
        return 2
    gen = generate(args.scale, args.seed, args.nhs_data)
    command = (f"python scripts/generate_instance.py --scale {args.scale} --seed {args.seed} "
               f"--out {shown_path(args.out)}")
    write(gen, args.out, command)
    print(f"wrote {args.out}: {len(gen.services)} services, {len(gen.area.providers)} providers, "
          f"{sum(len(v) for v in gen.offers.values())} offers; population {gen.area.population:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
