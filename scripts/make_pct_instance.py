"""Build the shipped realistic instance ``instances/pct`` from public NHS England data.

The instance is a primary care trust (PCT) of 320,000 people planning one year, 2010/11. Its
figures come from the public files described in ``data/nhs/README.md`` (beside the shared
``MODEL.md``), scaled to the area, or from ``DOMAIN.md``, or from a stated assumption; the
README this script writes says which, figure by figure. The CSV files it writes are committed,
so this script is provenance: nobody needs to run it to use the instance, and running it again
on the same data gives the same bytes (the only randomness is a fixed-seed jitter of quality).

Why a script rather than hand-typed tables: ~90 services, ~50 providers and ~240 offers are too
many numbers to keep consistent by hand (demand, prices, capacities and status-quo volumes all
derive from the same National Cost Collection rows), and a reviewer must be able to trace every
number back to a file, a column and a scaling.

Usage::

    python scripts/make_pct_instance.py [--nhs-data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NHS_DATA = REPO.parent / "shared" / "data" / "nhs"
DEFAULT_OUT = REPO / "instances" / "pct"

SEED = 20100401
"""Seed of the only random step: a small service-specific jitter of each provider's quality."""

POPULATION = 320_000
"""The PCT's population (DOMAIN.md: a PCT is ~320,000, range 200,000-600,000)."""

ENGLAND = 56_500_000
"""England's population, to scale national activity to the area (Census 2021: 56.5 million)."""

SCALE = POPULATION / ENGLAND
"""National activity x SCALE = the area's expected activity, assuming national average rates."""

DEFLATOR = 0.72
"""2023/24 -> 2010/11 prices. Assumption: roughly the movement of the HM Treasury GDP deflator
between the two years (general inflation of about 39 %). It is one stated factor for every NCC
unit cost; it does not try to reproduce the 2010/11 tariff HRG by HRG."""

VALUE_PER_QALY = 20_000
"""λ: the lower end of NICE's £20,000-£30,000 per QALY threshold (DOMAIN.md)."""

RISK_AVERSION = 0.25
"""ρ: £ of objective per £ of standard deviation of spend. Assumption."""

BUDGET = 341_000_000
"""£ a year for the modelled services. A stated assumption, set so that the budget binds: it
lies between the cost of the cheapest valid plan and the spend the planner would choose with
no limit at λ = £20,000 per QALY (both measured with the planner, see README.md), a little
below the status-quo cost of the modelled services (QIPP: flat real budgets, DOMAIN.md/004)."""

GMS_PRICE = 69.44
PMS_PRICE = 91.93
"""£ per registered patient per year, GMS and PMS core contracts (DOMAIN.md, seed 002, Haringey
2010; PMS about 27 % above GMS nationally)."""

CQC_SCORE = {"Outstanding": 0.95, "Good": 0.80, "Requires improvement": 0.60, "Inadequate": 0.35}
"""Stated mapping of CQC overall ratings to a 0-1 quality score."""

NCC_DEPTS = {
    "EL": "Elective Inpatients",
    "DC": "Daycase",
    "NES": "Non-Elective Inpatient - Short Stay",
    "NEL": "Non-Elective Inpatient - Long Stay",
    "OPP": "Outpatient Procedures",
    "CL": "Consultant Led",
    "NCL": "Non Consultant Led",
    "CHS": "Community Health Service",
    "ED": "Emergency Care",
    "AMB": "Ambulance",
    "CC": "Critical care",
    "DI": "Diagnostic Imaging",
    "DADS": "Directly Accessed Diagnostic Services",
    "NSP": "National screening programmes",
    "AUD": "Audiology",
    "RD": "Renal Dialysis",
    "RDNA": "Regular Day or Night Admissions",
    "MHCC": "Mental Health Care Contact",
    "MHPS": "Mental Health Provider Spell",
    "IAPT": "NHS Talking Therapy Care Contact",
}
INPATIENT = ("EL", "DC", "NES", "NEL")
EMERGENCY = ("NES", "NEL")


# --- specification types -------------------------------------------------------------------


@dataclass(frozen=True)
class Ncc:
    """A set of National Cost Collection rows: currency codes (regex) in some departments."""

    codes: str
    depts: tuple[str, ...]
    desc: str | None = None  # optional regex the description must match
    residual: bool = False  # all rows of the departments not claimed by another service


@dataclass(frozen=True)
class Assumed:
    """A figure with no row in the data: annual demand and a 2010/11 unit price, and why."""

    demand: float
    price: float
    why: str


@dataclass(frozen=True)
class Svc:
    """One service of services.csv and how its figures are made."""

    service: str
    category: str
    setting: str
    source: Ncc | Assumed
    unit: str
    tariff: bool = False  # Payment by Results: national tariff = NCC unit cost x deflator
    mandatory: bool = True
    cost_cv: float = 0.3
    qaly_gain: float = 0.0
    min_quality: float | None = None
    min_avg_quality: float | None = None
    min_providers: int | None = None
    max_providers: int | None = None
    choice_headroom: float | None = None
    min_share: float | None = None
    allowed: tuple[str, ...] = ()
    bed_days: float = 0.0  # capacity_use at providers whose total_capacity is in bed-days


@dataclass(frozen=True)
class Off:
    """One offer: shares are of the service's demand; ``pf`` scales the reference price."""

    provider: str
    q: float | None = None  # quality; None = provider's default quality with a small jitter
    cap: float | None = None  # capacity as a share of demand; None = unlimited
    inc: float = 0.0  # status-quo (incumbent) volume as a share of demand
    pf: float = 1.0  # local price = reference price x pf (ignored under a tariff)
    setup: float = 0.0  # £ setup cost of a new contract


@dataclass(frozen=True)
class Prov:
    """One provider of providers.csv."""

    provider: str
    kind: str
    name: str
    source: str  # where its quality/capacity come from
    ods: str | None = None  # ODS code: trust rows in the KH03 and A&E files
    catchment_share: float | None = None  # share of the trust's beds available to this PCT
    quality: float | None = None  # default quality when not derived from data
    min_income_share: float = 0.0  # min_income = share x status-quo income
    exit_share: float = 0.0  # exit_cost = share x status-quo income
    entry_cost: float = 0.0  # £, for a provider with no contract today
    conflicted: tuple[str, ...] = ()
    list_size: int | None = None  # GP practices
    contract: str | None = None  # GMS / PMS
    extra: dict[str, str] = field(default_factory=dict)


# --- the commissioning continuum ------------------------------------------------------------

LEVELS = [
    # level, order, population, transaction_cost, risk_tolerance, max_services
    ("personal", 1, 1, 0.5, None, None),
    ("practice", 2, 5_500, 500.0, 0.20, 6),
    ("locality", 3, 100_000, 5_000.0, 0.15, 12),
    ("pct", 4, 320_000, 15_000.0, 0.12, None),
    ("joint_la", 5, 320_000, 20_000.0, 0.12, None),
    ("regional", 6, 5_000_000, 40_000.0, 0.12, None),
    ("supra_regional", 7, 15_000_000, 60_000.0, 0.12, None),
    ("national", 8, 50_000_000, 100_000.0, None, None),
]
"""Populations from DOMAIN.md (001, Table 1). Transaction costs (£ per contract per unit per
year) and risk tolerances are assumptions, chosen so that per person a contract costs most at
small levels (practice £0.09, locality £0.05, PCT £0.047, national £0.002 per head) and so that
the compound-Poisson CV rule keeps rare, costly services at large levels."""

LEVEL_NAMES = {
    "personal": "Personal health budget", "practice": "GP practice", "locality": "Locality",
    "pct": "Primary care trust", "joint_la": "PCT with the local authority",
    "regional": "Regional", "supra_regional": "Supra-regional", "national": "National",
}
"""Plain names of the levels for reports (levels.csv's ``name`` column; ids stay the keys)."""

LEVEL_EFFECTS = [
    ("personal", "long_term_conditions", 0.93),
    ("practice", "long_term_conditions", 0.95),
    ("locality", "long_term_conditions", 0.97),
]
"""Clinically led demand management for long-term conditions (DOMAIN.md, 001); factors are
assumptions (the issue suggests e.g. 0.95 practice, 0.97 locality)."""

LTC_LOCAL = ("practice", "locality", "pct")
LTC_PERSONAL = ("personal", "practice", "locality", "pct")
COMMUNITY = ("locality", "pct")
COMMUNITY_PBC = ("practice", "locality", "pct")
HOSPITAL_PBC = ("practice", "locality", "pct")
PCT_ONLY = ("pct",)
REGIONAL = ("practice", "locality", "pct", "regional")
SUPRA_REGIONAL = REGIONAL + ("supra_regional",)
NATIONAL = SUPRA_REGIONAL + ("national",)
"""Specialised services list every level up to the highest their designation allows (national
for the nationally designated very rare services, supra-regional or regional otherwise, as in
DOMAIN.md's continuum table); the CV rule then removes the levels too small to bear the risk."""
MENTAL_HEALTH = ("locality", "pct", "joint_la")
SOCIAL_CARE = ("joint_la",)


# --- services -------------------------------------------------------------------------------

SERVICES: list[Svc] = [
    # primary care ------------------------------------------------------------------------
    Svc("gp_core_services", "primary", "community",
        Assumed(POPULATION, GMS_PRICE, "registered patients = population; GMS/PMS price per "
                "patient from DOMAIN.md (002)"),
        "registered patient-year", cost_cv=0.0, qaly_gain=0.002, allowed=PCT_ONLY),
    Svc("community_dental", "primary", "community", Ncc("M01[AB]", ("CHS",)), "contact",
        qaly_gain=0.001, allowed=PCT_ONLY),
    Svc("emergency_dental", "primary", "community", Ncc("M01C", ("CHS",)), "attendance",
        allowed=PCT_ONLY),
    Svc("breast_screening", "primary", "community", Ncc("NSP002", ("NSP",)), "screen",
        cost_cv=0.1, qaly_gain=0.002, allowed=PCT_ONLY),
    Svc("bowel_screening", "primary", "community", Ncc("NSP004", ("NSP",)), "screen",
        cost_cv=0.1, qaly_gain=0.003, allowed=("pct", "regional")),
    Svc("aaa_screening", "primary", "community", Ncc("NSP001", ("NSP",)), "screen",
        cost_cv=0.1, qaly_gain=0.004, allowed=("pct", "regional")),
    Svc("cervical_screening", "primary", "community", Ncc("NSP003", ("NSP",)), "screen",
        cost_cv=0.1, qaly_gain=0.001, allowed=COMMUNITY),
    Svc("nhs_health_checks", "primary", "community",
        Assumed(9_600, 28.0, "about 15 % of the ~128,000 people aged 40-74 invited a year, "
                "half attending; £28 a check"),
        "check", mandatory=False, cost_cv=0.1, qaly_gain=0.0025, allowed=COMMUNITY_PBC),
    Svc("smoking_cessation", "primary", "community",
        Assumed(4_900, 180.0, "about 800,000 quit attempts a year with NHS stop smoking "
                "services in England around 2010 scaled to 320,000; £180 an attempt"),
        "quit attempt", mandatory=False, cost_cv=0.1, qaly_gain=0.04, allowed=COMMUNITY_PBC),
    # community health services ----------------------------------------------------------
    Svc("district_nursing", "community", "home", Ncc("N02A[FN]", ("CHS",)), "contact",
        qaly_gain=0.0015, allowed=COMMUNITY_PBC),
    Svc("health_visiting", "community", "home", Ncc("N03", ("CHS",)), "contact",
        qaly_gain=0.0005, allowed=COMMUNITY),
    Svc("school_nursing", "community", "community", Ncc("N05", ("CHS",)), "contact",
        allowed=COMMUNITY),
    Svc("childrens_community_nursing", "community", "home", Ncc("N12", ("CHS",)), "contact",
        qaly_gain=0.0005, allowed=PCT_ONLY),
    Svc("community_physiotherapy", "community", "community", Ncc("A08", ("CHS",)), "contact",
        qaly_gain=0.0005, min_avg_quality=0.76, allowed=COMMUNITY_PBC),
    Svc("podiatry", "community", "community", Ncc("A09", ("CHS",)), "contact",
        qaly_gain=0.0005, allowed=COMMUNITY),
    Svc("speech_language_therapy", "community", "community", Ncc("A13", ("CHS",)), "contact",
        qaly_gain=0.0005, allowed=PCT_ONLY),
    Svc("occupational_therapy", "community", "community", Ncc("A06", ("CHS",)), "contact",
        qaly_gain=0.0005, allowed=COMMUNITY),
    Svc("dietetics", "community", "community", Ncc("A03", ("CHS",)), "contact",
        allowed=PCT_ONLY),
    Svc("intermediate_care_rapid_response", "community", "home", Ncc("IC01", ("CHS",)),
        "contact", qaly_gain=0.001, allowed=COMMUNITY),
    Svc("intermediate_care_home", "community", "home", Ncc("IC03", ("CHS",)), "contact",
        qaly_gain=0.001, allowed=("locality", "pct", "joint_la")),
    Svc("palliative_care_nursing", "community", "home", Ncc("N21", ("CHS",)), "contact",
        qaly_gain=0.005, allowed=COMMUNITY),
    Svc("continence_service", "community", "community", Ncc("N14", ("CHS",)), "contact",
        allowed=PCT_ONLY),
    Svc("tissue_viability", "community", "community", Ncc("N25", ("CHS",)), "contact",
        allowed=PCT_ONLY),
    Svc("treatment_room_nursing", "community", "community", Ncc("N27", ("CHS",)), "contact",
        allowed=COMMUNITY_PBC),
    Svc("community_stroke_rehab", "community", "home", Ncc("SCRT", ("CHS",)), "contact",
        qaly_gain=0.002, allowed=COMMUNITY),
    Svc("falls_prevention", "community", "home",
        Assumed(1_200, 350.0, "a strength-and-balance programme for about 1 in 40 people aged "
                "75 and over a year; £350 a programme"),
        "programme", mandatory=False, cost_cv=0.2, qaly_gain=0.03, allowed=COMMUNITY),
    Svc("wheelchair_service", "community", "community", Ncc("WCC", ("NCL",)), "contact",
        qaly_gain=0.002, min_quality=0.70, allowed=("pct", "regional")),
    Svc("adult_hearing_services", "community", "community",
        Ncc("AS0[1568]|AS1[01]|CA37A", ("AUD",)), "attendance", qaly_gain=0.002,
        min_providers=2, min_share=0.1, allowed=PCT_ONLY),
    Svc("sexual_health_gum", "community", "community", Ncc("WJ04Z", ("CL", "NCL")),
        "attendance", qaly_gain=0.001, allowed=PCT_ONLY),
    # elective hospital care (Payment by Results) --------------------------------------
    Svc("hip_replacement", "elective", "hospital", Ncc("HN1[23]", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.4, qaly_gain=1.2, min_providers=2, choice_headroom=0.1,
        min_share=0.1, allowed=HOSPITAL_PBC, bed_days=4.5),
    Svc("knee_replacement", "elective", "hospital", Ncc("HN2[23]", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.4, qaly_gain=1.0, min_providers=2, choice_headroom=0.1,
        min_share=0.1, allowed=HOSPITAL_PBC, bed_days=4.0),
    Svc("cataract_surgery", "elective", "hospital", Ncc("BZ3[0-5]", ("DC", "EL", "OPP")),
        "spell", tariff=True, cost_cv=0.2, qaly_gain=0.3, min_providers=2, min_share=0.1,
        choice_headroom=0.1, allowed=HOSPITAL_PBC, bed_days=0.1),
    Svc("hernia_repair", "elective", "hospital", Ncc("FF6[0-2]", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.3, qaly_gain=0.1, min_providers=2, min_share=0.1,
        allowed=HOSPITAL_PBC, bed_days=0.6),
    Svc("cholecystectomy", "elective", "hospital", Ncc("GA10", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.3, qaly_gain=0.2, allowed=HOSPITAL_PBC, bed_days=1.2),
    Svc("tonsillectomy", "elective", "hospital", Ncc("CA6[01]", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.2, qaly_gain=0.05, allowed=HOSPITAL_PBC, bed_days=0.8),
    Svc("hysterectomy", "elective", "hospital", Ncc("MA0[78]", ("EL", "DC")), "spell",
        tariff=True, cost_cv=0.3, qaly_gain=0.3, allowed=HOSPITAL_PBC, bed_days=2.5),
    Svc("upper_gi_endoscopy", "elective", "hospital", Ncc("FE2[12]", ("DC", "EL", "OPP")),
        "procedure", tariff=True, cost_cv=0.2, qaly_gain=0.01, min_providers=2,
        min_share=0.1, allowed=HOSPITAL_PBC, bed_days=0.05),
    Svc("colonoscopy", "elective", "hospital", Ncc("FE3[0-2]", ("DC", "EL", "OPP")),
        "procedure", tariff=True, cost_cv=0.2, qaly_gain=0.02, allowed=HOSPITAL_PBC,
        bed_days=0.05),
    Svc("mri_scan", "elective", "hospital", Ncc("RD0[1-7]", ("DI", "DADS")), "scan",
        tariff=True, cost_cv=0.2, qaly_gain=0.002, min_providers=2, min_share=0.1,
        allowed=HOSPITAL_PBC),
    Svc("outpatient_first_attendance", "elective", "hospital",
        Ncc("WF0[12][BD]", ("CL",)), "attendance", tariff=True, cost_cv=0.3, qaly_gain=0.001,
        allowed=HOSPITAL_PBC),
    Svc("outpatient_follow_up", "elective", "hospital", Ncc("WF0[12][AC]", ("CL",)),
        "attendance", tariff=True, cost_cv=0.3, qaly_gain=0.0005, allowed=HOSPITAL_PBC),
    Svc("varicose_vein_surgery", "elective", "hospital",
        Ncc("YQ1[4-6]|YR3[0-3]", ("EL", "DC", "OPP")), "spell", tariff=True,
        mandatory=False, cost_cv=0.2, qaly_gain=0.03, allowed=HOSPITAL_PBC, bed_days=0.2),
    Svc("bariatric_surgery", "elective", "hospital", Ncc("FF1[0-3]", ("EL", "DC")), "spell",
        tariff=True, mandatory=False, cost_cv=0.3, qaly_gain=0.45, allowed=("pct", "regional"),
        bed_days=2.5),
    Svc("pain_management_injections", "elective", "hospital",
        Ncc("AB", ("DC", "OPP", "EL"), desc="Pain Management"), "procedure", tariff=True,
        mandatory=False, cost_cv=0.2, qaly_gain=0.01, allowed=HOSPITAL_PBC, bed_days=0.1),
    Svc("ivf_cycles", "elective", "hospital",
        Assumed(150, 3_000.0, "about 24,000 NHS-funded IVF cycles a year in England around "
                "2010 scaled to 320,000; £3,000 a cycle"),
        "cycle", mandatory=False, cost_cv=0.3, qaly_gain=0.1, allowed=COMMUNITY, bed_days=0.1),
    # urgent and emergency care --------------------------------------------------------------
    Svc("ae_attendance", "urgent", "hospital", Ncc("VB0[1-8]Z|VB99Z", ("ED",)), "attendance",
        tariff=True, cost_cv=0.4, qaly_gain=0.002, allowed=COMMUNITY),
    Svc("minor_injuries", "urgent", "community", Ncc("VB09Z|VB1[01]Z", ("ED",)),
        "attendance", cost_cv=0.3, qaly_gain=0.0005, allowed=COMMUNITY),
    Svc("ambulance_services", "urgent", "home", Ncc("0[123]", ("AMB",)), "incident",
        cost_cv=0.4, allowed=("pct", "regional")),
    Svc("emergency_admission_short_stay", "urgent", "hospital", Ncc("", ("NES",), residual=True),
        "spell", tariff=True, cost_cv=0.6, qaly_gain=0.005, allowed=COMMUNITY, bed_days=0.6),
    Svc("emergency_admission_long_stay", "urgent", "hospital", Ncc("", ("NEL",), residual=True),
        "spell", tariff=True, cost_cv=0.8, qaly_gain=0.02, allowed=COMMUNITY, bed_days=7.5),
    Svc("hip_fracture", "urgent", "hospital", Ncc("HT1[2-5]", EMERGENCY), "spell",
        tariff=True, cost_cv=0.5, qaly_gain=0.3, allowed=COMMUNITY, bed_days=12.0),
    Svc("acute_stroke", "urgent", "hospital", Ncc("AA35", EMERGENCY), "spell", tariff=True,
        cost_cv=0.7, qaly_gain=0.3, min_avg_quality=0.80, allowed=COMMUNITY, bed_days=10.0),
    Svc("adult_critical_care", "urgent", "hospital", Ncc("XC0[1-7]", ("CC",)), "bed-day",
        tariff=True, cost_cv=1.0, qaly_gain=0.01, allowed=("pct", "regional")),
    # maternity ------------------------------------------------------------------------------
    Svc("normal_birth", "maternity", "hospital", Ncc("NZ3[0-4]", ("EL", "NES", "NEL")),
        "delivery", tariff=True, cost_cv=0.3, qaly_gain=0.02, allowed=COMMUNITY, bed_days=1.5),
    Svc("assisted_birth", "maternity", "hospital", Ncc("NZ4[0-4]", ("EL", "NES", "NEL")),
        "delivery", tariff=True, cost_cv=0.3, qaly_gain=0.02, allowed=COMMUNITY, bed_days=2.0),
    Svc("caesarean_section", "maternity", "hospital", Ncc("NZ5", ("EL", "NES", "NEL")),
        "delivery", tariff=True, cost_cv=0.3, qaly_gain=0.02, allowed=COMMUNITY, bed_days=3.0),
    Svc("antenatal_community_midwifery", "maternity", "home", Ncc("N01A", ("CHS", "NCL")),
        "visit", qaly_gain=0.001, allowed=COMMUNITY),
    Svc("postnatal_community_midwifery", "maternity", "home", Ncc("N01P", ("CHS", "NCL")),
        "visit", qaly_gain=0.001, allowed=COMMUNITY),
    # mental health --------------------------------------------------------------------------
    Svc("mh_community_care", "mental_health", "community", Ncc("MHCC", ("MHCC",)), "contact",
        cost_cv=0.4, qaly_gain=0.008, min_avg_quality=0.78, allowed=MENTAL_HEALTH),
    Svc("mh_provider_spells", "mental_health", "hospital", Ncc("MHPS", ("MHPS",)), "spell",
        cost_cv=0.8, qaly_gain=0.005, allowed=MENTAL_HEALTH),
    Svc("talking_therapies", "mental_health", "community", Ncc("IAPT", ("IAPT",)),
        "care contact", mandatory=False, cost_cv=0.3, qaly_gain=0.009,
        allowed=MENTAL_HEALTH),
    Svc("dementia_memory_nursing", "mental_health", "home", Ncc("N22", ("CHS",)), "contact",
        qaly_gain=0.001, allowed=MENTAL_HEALTH),
    # long-term conditions -------------------------------------------------------------------
    Svc("diabetes_specialist_care", "long_term_conditions", "community", Ncc("N15", ("CHS",)),
        "contact", qaly_gain=0.003, max_providers=1, allowed=LTC_PERSONAL),
    Svc("diabetes_admissions", "long_term_conditions", "hospital", Ncc("KB0[1-3]", EMERGENCY),
        "spell", tariff=True, cost_cv=0.6, qaly_gain=0.01, allowed=LTC_LOCAL, bed_days=4.0),
    Svc("copd_respiratory_nursing", "long_term_conditions", "home", Ncc("N08A", ("CHS",)),
        "contact", qaly_gain=0.002, allowed=LTC_PERSONAL),
    Svc("copd_admissions", "long_term_conditions", "hospital", Ncc("DZ65", EMERGENCY),
        "spell", tariff=True, cost_cv=0.6, qaly_gain=0.01, allowed=LTC_LOCAL, bed_days=4.5),
    Svc("heart_failure_nursing", "long_term_conditions", "home", Ncc("N11A", ("CHS",)),
        "contact", qaly_gain=0.002, allowed=LTC_LOCAL),
    Svc("heart_failure_admissions", "long_term_conditions", "hospital", Ncc("EB03", EMERGENCY),
        "spell", tariff=True, cost_cv=0.6, qaly_gain=0.01, allowed=LTC_LOCAL, bed_days=7.0),
    Svc("community_matrons", "long_term_conditions", "home", Ncc("N06A", ("CHS",)), "contact",
        qaly_gain=0.002, allowed=LTC_PERSONAL),
    Svc("single_condition_rehab", "long_term_conditions", "home", Ncc("OSCCRT", ("CHS",)),
        "contact", mandatory=False, qaly_gain=0.01, allowed=LTC_LOCAL),
    Svc("home_dialysis", "long_term_conditions", "home", Ncc("LD09|LD1[0-3]", ("RD",)),
        "session", tariff=True, cost_cv=0.2, qaly_gain=0.002, allowed=LTC_LOCAL),
    # specialised ----------------------------------------------------------------------------
    Svc("heart_transplant", "specialised", "hospital", Ncc("ED0[45]Z", INPATIENT), "spell",
        tariff=True, cost_cv=0.6, qaly_gain=5.0, min_quality=0.70, allowed=NATIONAL, bed_days=30),
    Svc("lung_transplant", "specialised", "hospital", Ncc("DZ01Z", INPATIENT), "spell",
        tariff=True, cost_cv=0.6, qaly_gain=3.0, min_quality=0.70, allowed=NATIONAL, bed_days=30),
    Svc("liver_transplant", "specialised", "hospital", Ncc("GA15", INPATIENT), "spell",
        tariff=True, cost_cv=0.6, qaly_gain=5.0, min_quality=0.70, allowed=NATIONAL, bed_days=20),
    Svc("kidney_transplant", "specialised", "hospital", Ncc("LA0[1-3]", INPATIENT), "spell",
        tariff=True, cost_cv=0.5, qaly_gain=4.0, min_quality=0.70, allowed=SUPRA_REGIONAL, bed_days=8),
    Svc("severe_burns", "specialised", "hospital",
        Ncc("JB", INPATIENT, desc=r"Severity Score (?:7|8|10)"), "spell", tariff=True,
        cost_cv=1.0, qaly_gain=2.0, min_quality=0.70, allowed=SUPRA_REGIONAL, bed_days=25),
    Svc("allogeneic_bmt", "specialised", "hospital",
        Ncc("SA2[0-2]|SA3[89]|SA40", INPATIENT), "spell", tariff=True, cost_cv=0.8,
        qaly_gain=3.0, min_quality=0.70, allowed=SUPRA_REGIONAL, bed_days=30),
    Svc("neonatal_intensive_care", "specialised", "hospital", Ncc("XA0[12]Z", ("CC",)),
        "bed-day", tariff=True, cost_cv=2.5, qaly_gain=0.05, min_quality=0.70,
        allowed=REGIONAL),
    Svc("paediatric_intensive_care", "specialised", "hospital",
        Ncc("XB0[1-79]Z", ("CC",)), "bed-day", tariff=True, cost_cv=2.5, qaly_gain=0.05,
        min_quality=0.70, allowed=REGIONAL),
    Svc("childrens_cancer", "specialised", "hospital", Ncc("PM4[0-5]", INPATIENT + ("RDNA",)),
        "spell", tariff=True, cost_cv=1.5, qaly_gain=0.3, min_quality=0.70,
        allowed=REGIONAL, bed_days=5),
    Svc("haemophilia_coagulation", "specialised", "hospital",
        Ncc("SA02|PN49", INPATIENT + ("RDNA",)), "spell", tariff=True, cost_cv=2.0,
        qaly_gain=0.05, min_quality=0.70, allowed=REGIONAL, bed_days=3),
    Svc("cardiac_surgery_cabg", "specialised", "hospital", Ncc("ED2[2-8]", INPATIENT), "spell",
        tariff=True, cost_cv=0.4, qaly_gain=1.0, min_quality=0.70, allowed=REGIONAL, bed_days=8),
    Svc("cochlear_implants", "specialised", "hospital", Ncc("CA4[12]Z", ("EL", "DC")),
        "spell", tariff=True, cost_cv=0.4, qaly_gain=1.5, min_quality=0.70,
        allowed=SUPRA_REGIONAL, bed_days=1.5),
    Svc("hospital_haemodialysis", "specialised", "hospital", Ncc("LD0[1-8]", ("RD",)),
        "session", tariff=True, cost_cv=0.2, qaly_gain=0.002, min_quality=0.70,
        allowed=REGIONAL),
    Svc("chemotherapy_delivery", "specialised", "hospital",
        Ncc("SB1[1-7]|SB97", INPATIENT + ("OPP", "RDNA")), "attendance", cost_cv=0.5,
        qaly_gain=0.02, min_quality=0.75, allowed=("pct", "regional")),
    # social care, jointly commissioned with the local authority ------------------------------
    Svc("reablement", "social_care", "home",
        Assumed(1_300, 1_600.0, "about 4 reablement episodes per 1,000 people a year; £1,600 "
                "an episode of about six weeks"),
        "episode", cost_cv=0.5, qaly_gain=0.12, allowed=SOCIAL_CARE),
    Svc("home_care_hours", "social_care", "home",
        Assumed(250_000, 15.0, "the NHS share of jointly funded home care for people with "
                "long-term conditions; £15 an hour"),
        "hour", cost_cv=0.5, qaly_gain=0.0015, min_avg_quality=0.74, allowed=SOCIAL_CARE),
    Svc("nursing_home_fnc", "social_care", "community",
        Assumed(57_200, 108.70, "about 1,100 residents receiving NHS-funded nursing care "
                "x 52 weeks; the 2010/11 standard FNC rate of £108.70 a week"),
        "resident-week", cost_cv=0.3, allowed=SOCIAL_CARE),
    Svc("community_equipment", "social_care", "home",
        Assumed(24_000, 65.0, "items issued by a joint equipment store; £65 an item"),
        "item", cost_cv=0.3, qaly_gain=0.002, allowed=SOCIAL_CARE),
    Svc("residential_respite", "social_care", "community",
        Assumed(2_500, 520.0, "respite weeks in care homes; £520 a week"),
        "week", cost_cv=0.4, qaly_gain=0.01, allowed=SOCIAL_CARE),
    Svc("carers_breaks", "social_care", "home",
        Assumed(1_800, 250.0, "short breaks for carers (the 2010 carers' strategy money); "
                "£250 a break"),
        "break", mandatory=False, cost_cv=0.3, qaly_gain=0.02, allowed=SOCIAL_CARE),
]


# --- providers ------------------------------------------------------------------------------

KH03 = "englandTrusts_kh03_q3_2019_20.csv (acuteBeds, dayBeds)"
AE = "england_trust_accidents_emergency.csv (4-hour performance 2023/24)"

PROVIDERS: list[Prov] = [
    # acute and specialist trusts (names, bed counts and A&E performance from the data)
    Prov("wirral_uth_ft", "foundation_trust", "Wirral University Teaching Hospital NHS FT",
         f"{KH03}; {AE}", ods="RBL", catchment_share=0.85, min_income_share=0.75,
         exit_share=0.25),
    Prov("countess_chester_ft", "foundation_trust", "Countess of Chester Hospital NHS FT",
         f"{KH03}; {AE}", ods="RJR", catchment_share=0.15, exit_share=0.1),
    Prov("sthk_trust", "nhs_trust", "St Helens and Knowsley Teaching Hospitals NHS Trust "
         "(Mersey regional burns centre)", f"{KH03}; {AE}", ods="RBN", catchment_share=0.05,
         exit_share=0.1),
    Prov("liverpool_uh_ft", "foundation_trust", "Liverpool University Hospitals NHS FT",
         f"{KH03}; {AE}", ods="REM", catchment_share=0.08, exit_share=0.1),
    Prov("lhch_ft", "foundation_trust", "Liverpool Heart and Chest Hospital NHS FT",
         f"{KH03}; specialist quality assumed", ods="RBQ", catchment_share=0.12,
         quality=0.88, exit_share=0.1),
    Prov("alder_hey_ft", "foundation_trust", "Alder Hey Children's NHS FT", f"{KH03}; {AE}",
         ods="RBS", catchment_share=0.12, exit_share=0.1),
    Prov("liverpool_womens_ft", "foundation_trust", "Liverpool Women's NHS FT",
         f"{KH03}; {AE}", ods="REP", catchment_share=0.2, exit_share=0.1),
    Prov("clatterbridge_cc_ft", "foundation_trust", "The Clatterbridge Cancer Centre NHS FT",
         f"{KH03}; specialist quality assumed", ods="REN", catchment_share=0.15,
         quality=0.88, exit_share=0.1),
    Prov("manchester_uh_ft", "foundation_trust", "Manchester University NHS FT "
         "(Wythenshawe transplant and burns centres)", f"{KH03}; {AE}", ods="R0A",
         catchment_share=0.02, exit_share=0.1),
    Prov("christie_ft", "foundation_trust", "The Christie NHS FT", f"{KH03}; specialist "
         "quality assumed", ods="RBV", catchment_share=0.05, quality=0.88, exit_share=0.1),
    Prov("papworth_ft", "foundation_trust", "Royal Papworth Hospital NHS FT",
         f"{KH03}; specialist quality assumed", ods="RGM", catchment_share=0.01, quality=0.90,
         entry_cost=20_000),
    Prov("newcastle_ft", "foundation_trust", "The Newcastle upon Tyne Hospitals NHS FT",
         f"{KH03}; {AE}", ods="RTD", catchment_share=0.005, entry_cost=20_000),
    Prov("birmingham_uh_ft", "foundation_trust", "University Hospitals Birmingham NHS FT",
         f"{KH03}; {AE}", ods="RRK", catchment_share=0.005, exit_share=0.1),
    Prov("leeds_th_trust", "nhs_trust", "Leeds Teaching Hospitals NHS Trust", f"{KH03}; {AE}",
         ods="RR8", catchment_share=0.005, exit_share=0.1),
    Prov("nwas_trust", "nhs_trust", "North West Ambulance Service NHS Trust",
         "etr.csv (name); quality assumed", ods="RX7", quality=0.78, min_income_share=0.9,
         exit_share=0.25),
    # mental health and community
    Prov("cwp_ft", "foundation_trust", "Cheshire and Wirral Partnership NHS FT (mental health)",
         "etr.csv (name); quality assumed", ods="RXA", quality=0.80, min_income_share=0.85,
         exit_share=0.25),
    Prov("mersey_care_ft", "foundation_trust", "Mersey Care NHS FT (mental health)",
         "etr.csv (name); quality assumed", ods="RW4", quality=0.79, exit_share=0.1),
    Prov("wirral_community_ft", "community_provider",
         "Wirral Community Health and Care NHS FT (the PCT's provider arm in 2010)",
         "etr.csv (name); quality assumed", ods="RY7", quality=0.80, min_income_share=0.85,
         exit_share=0.25),
    # primary care: real Wirral practices are added from the data in build_practices()
    Prov("gp_federation", "gp_federation", "A federation of Wirral practices (new provider)",
         "quality assumed", quality=0.78, entry_cost=50_000),
    # social enterprises
    Prov("se_therapies_cic", "social_enterprise",
         "Community therapies community interest company (new entrant)", "quality assumed",
         quality=0.70, entry_cost=60_000),
    Prov("se_wellbeing_cic", "social_enterprise",
         "Wellbeing and talking-therapies social enterprise", "quality assumed", quality=0.80,
         exit_share=0.1),
    Prov("se_urgent_care_cic", "social_enterprise", "Walk-in centre social enterprise",
         "quality assumed", quality=0.78, exit_share=0.1),
    # independent sector
    Prov("is_treatment_centre", "independent",
         "Independent sector treatment centre (wave 1, guaranteed-volume contract)",
         "quality assumed", quality=0.76, min_income_share=0.9, exit_share=0.5),
    Prov("is_private_hospital", "independent", "Independent hospital (new entrant)",
         "quality assumed", quality=0.84, entry_cost=250_000),
    Prov("is_diagnostics", "independent", "Independent diagnostics provider",
         "quality assumed", quality=0.80, exit_share=0.1),
    Prov("is_audiology", "independent", "Independent audiology provider (AQP)",
         "quality assumed", quality=0.82, exit_share=0.05),
    Prov("is_dental", "independent", "Independent dental corporate", "quality assumed",
         quality=0.78, exit_share=0.05),
    Prov("is_wheelchair", "independent", "Independent wheelchair service (new entrant)",
         "quality assumed", quality=0.62, entry_cost=40_000),
    Prov("is_dialysis", "independent", "Independent satellite dialysis provider (new entrant)",
         "quality assumed", quality=0.78, entry_cost=150_000),
    Prov("is_home_care", "independent", "Independent home care agency", "quality assumed",
         quality=0.70, exit_share=0.05),
    Prov("is_care_homes", "independent", "Independent care homes group", "quality assumed",
         quality=0.72, exit_share=0.05),
    # voluntary sector
    Prov("vol_hospice", "voluntary", "Local hospice (charity)", "quality assumed",
         quality=0.92, min_income_share=0.9, exit_share=0.25),
    Prov("vol_carers_centre", "voluntary", "Carers' centre (charity, new provider)",
         "quality assumed", quality=0.82, entry_cost=15_000),
    Prov("vol_mental_health_charity", "voluntary", "Local mental health charity",
         "quality assumed", quality=0.77, exit_share=0.05),
    Prov("vol_older_peoples_charity", "voluntary", "Older people's charity (new provider)",
         "quality assumed", quality=0.80, entry_cost=15_000),
    # local authority
    Prov("la_wirral", "local_authority", "The local authority (adult social services)",
         "quality assumed", quality=0.78, exit_share=0.1),
]

PRACTICE_CCG = "12F"
"""NHS Wirral CCG: 47 practices, 338,130 registered patients on 1 January 2021, the nearest real
area to a 320,000 PCT in the same health economy as the trusts above."""

NAMED_PRACTICES = 10
"""The largest practices are named individually (plus any rated below Good); the rest of the
CCG's practices form one aggregate provider."""

# the residual "other practices" provider and the practices' offers are built from the data


# --- offers ---------------------------------------------------------------------------------

RBL, RJR, RBN, REM = "wirral_uth_ft", "countess_chester_ft", "sthk_trust", "liverpool_uh_ft"
COM, FED, OTHER = "wirral_community_ft", "gp_federation", "gp_other_practices"

OFFERS: dict[str, list[Off]] = {
    # gp_core_services and nhs_health_checks' practice rows are added in build_practices()
    "community_dental": [Off(COM, cap=1.0, inc=0.7), Off("is_dental", cap=0.6, inc=0.3, pf=0.9)],
    "emergency_dental": [Off(COM, inc=1.0), Off("is_dental", cap=0.5, pf=0.95, setup=10_000)],
    "breast_screening": [Off(RBL, inc=1.0), Off(RJR, cap=0.3, setup=20_000)],
    "bowel_screening": [Off(RBL, inc=1.0), Off(REM, cap=1.5, pf=0.97, setup=20_000)],
    "aaa_screening": [Off(REM, inc=1.0), Off(RBL, cap=1.0, pf=1.05, setup=20_000)],
    "cervical_screening": [Off(OTHER, cap=0.8, inc=0.75), Off(COM, cap=0.4, inc=0.25),
                           Off(FED, cap=0.5, pf=0.95, setup=10_000)],
    "smoking_cessation": [Off("se_wellbeing_cic", q=0.80, cap=0.7, inc=0.5, pf=0.95),
                          Off(OTHER, q=0.80, cap=0.6, inc=0.5), Off(FED, cap=0.4, pf=0.9)],
    "nhs_health_checks": [Off(OTHER, q=0.80, cap=0.7, inc=0.3), Off(FED, cap=0.6, pf=0.95),
                          Off("se_wellbeing_cic", q=0.76, cap=0.5, pf=0.85)],
    "district_nursing": [Off(COM, q=0.79, inc=1.0),
                         Off(FED, q=0.86, cap=0.4, pf=1.04, setup=50_000)],
    "health_visiting": [Off(COM, inc=1.0), Off("alder_hey_ft", cap=0.3, pf=1.1, setup=20_000)],
    "school_nursing": [Off(COM, inc=1.0), Off("se_therapies_cic", q=0.72, cap=0.5, pf=0.92)],
    "childrens_community_nursing": [Off(COM, inc=0.8), Off("alder_hey_ft", cap=0.6, inc=0.2)],
    "community_physiotherapy": [Off(COM, q=0.80, inc=0.85), Off(RBL, q=0.78, cap=0.4, inc=0.15,
                                                                 pf=1.1),
                                Off("se_therapies_cic", q=0.70, cap=0.6, pf=0.85)],
    "podiatry": [Off(COM, inc=1.0), Off("se_therapies_cic", q=0.72, cap=0.5, pf=0.88)],
    "speech_language_therapy": [Off(COM, inc=0.9), Off("alder_hey_ft", cap=0.3, inc=0.1),
                                Off("se_therapies_cic", q=0.74, cap=0.4, pf=0.9)],
    "occupational_therapy": [Off(COM, inc=0.7), Off("la_wirral", q=0.76, cap=0.5, inc=0.3,
                                                    pf=0.95),
                             Off("se_therapies_cic", q=0.72, cap=0.5, pf=0.88)],
    "dietetics": [Off(COM, inc=0.8), Off(RBL, cap=0.5, inc=0.2, pf=1.05)],
    "intermediate_care_rapid_response": [Off(COM, inc=1.0), Off("la_wirral", q=0.75, cap=0.4,
                                                                pf=0.9),
                                         Off("vol_older_peoples_charity", q=0.78, cap=0.2,
                                             pf=0.8)],
    "intermediate_care_home": [Off(COM, inc=0.6), Off("la_wirral", q=0.77, inc=0.4, pf=0.9),
                               Off("is_home_care", q=0.70, cap=0.5, pf=0.8)],
    "palliative_care_nursing": [Off("vol_hospice", q=0.92, cap=0.8, inc=0.5, pf=1.0),
                                Off(COM, q=0.79, inc=0.5)],
    "continence_service": [Off(COM, inc=1.0), Off("se_therapies_cic", q=0.73, cap=0.5, pf=0.9)],
    "tissue_viability": [Off(COM, inc=1.0), Off(RBL, cap=0.3, pf=1.1)],
    "treatment_room_nursing": [Off(COM, inc=0.6), Off(OTHER, q=0.80, cap=0.6, inc=0.4, pf=0.9),
                               Off(FED, cap=0.6, pf=0.92, setup=20_000)],
    "community_stroke_rehab": [Off(COM, inc=1.0), Off("se_therapies_cic", q=0.75, cap=0.5,
                                                      pf=0.9)],
    "falls_prevention": [Off(COM, cap=1.0), Off("vol_older_peoples_charity", q=0.84, cap=0.6,
                                                pf=0.85),
                         Off("se_therapies_cic", cap=0.5, pf=0.9)],
    "wheelchair_service": [Off(COM, q=0.78, inc=1.0), Off("is_wheelchair", q=0.62, cap=1.5,
                                                          pf=0.8)],
    "adult_hearing_services": [Off(RBL, inc=0.8), Off("is_audiology", q=0.82, cap=0.7, inc=0.2,
                                                      pf=0.9),
                               Off(RJR, cap=0.3, setup=10_000)],
    "sexual_health_gum": [Off(COM, inc=0.7), Off(RBL, cap=0.6, inc=0.3)],
    # elective
    "hip_replacement": [Off(RBL, cap=0.8, inc=0.6), Off("is_treatment_centre", cap=0.5, inc=0.3),
                        Off(RJR, cap=0.3, inc=0.1), Off("is_private_hospital", cap=0.3,
                                                        setup=25_000),
                        Off(REM, cap=0.2, setup=10_000)],
    "knee_replacement": [Off(RBL, cap=0.8, inc=0.6), Off("is_treatment_centre", cap=0.5,
                                                          inc=0.3),
                         Off(RJR, cap=0.3, inc=0.1), Off("is_private_hospital", cap=0.3,
                                                         setup=25_000)],
    "cataract_surgery": [Off(RBL, cap=0.8, inc=0.55), Off("is_treatment_centre", cap=0.6,
                                                          inc=0.45),
                         Off(RJR, cap=0.3, setup=10_000)],
    "hernia_repair": [Off(RBL, cap=0.9, inc=0.7), Off("is_treatment_centre", cap=0.5, inc=0.3),
                      Off(RJR, cap=0.3, setup=10_000)],
    "cholecystectomy": [Off(RBL, cap=1.0, inc=0.85), Off(RJR, cap=0.4, inc=0.15),
                        Off("is_private_hospital", cap=0.3, setup=15_000)],
    "tonsillectomy": [Off(RBL, cap=0.8, inc=0.6), Off("alder_hey_ft", cap=0.6, inc=0.4)],
    "hysterectomy": [Off(RBL, cap=1.0, inc=0.8), Off("liverpool_womens_ft", cap=0.5, inc=0.2)],
    "upper_gi_endoscopy": [Off(RBL, cap=1.0, inc=0.8), Off("is_treatment_centre", cap=0.4,
                                                           inc=0.2),
                           Off("is_diagnostics", q=0.77, cap=0.3, setup=15_000)],
    "colonoscopy": [Off(RBL, cap=1.0, inc=0.85), Off("is_treatment_centre", cap=0.4, inc=0.15)],
    "mri_scan": [Off(RBL, cap=1.0, inc=0.75), Off("is_diagnostics", cap=0.6, inc=0.25),
                 Off(RJR, cap=0.2)],
    "outpatient_first_attendance": [Off(RBL, cap=1.0, inc=0.8), Off(RJR, cap=0.15, inc=0.08),
                                    Off(REM, cap=0.15, inc=0.08),
                                    Off("is_treatment_centre", cap=0.1, inc=0.04)],
    "outpatient_follow_up": [Off(RBL, cap=1.0, inc=0.8), Off(RJR, cap=0.15, inc=0.08),
                             Off(REM, cap=0.15, inc=0.08),
                             Off("is_treatment_centre", cap=0.1, inc=0.04)],
    "varicose_vein_surgery": [Off(RBL, cap=1.0, inc=0.7), Off("is_treatment_centre", cap=0.5,
                                                               inc=0.3)],
    "bariatric_surgery": [Off(REM, cap=1.0, inc=0.5), Off("is_private_hospital", cap=0.5,
                                                          setup=15_000)],
    "pain_management_injections": [Off(RBL, cap=1.0, inc=0.7), Off("is_treatment_centre",
                                                                 cap=0.5, inc=0.3)],
    "ivf_cycles": [Off("liverpool_womens_ft", cap=1.2, inc=0.8)],
    # urgent
    "ae_attendance": [Off(RBL, cap=0.95, inc=0.9), Off(RJR, cap=0.15, inc=0.06),
                      Off(REM, cap=0.1, inc=0.04)],
    "minor_injuries": [Off(RBL, q=0.80, cap=0.8, inc=0.6), Off("se_urgent_care_cic", cap=0.6,
                                                               inc=0.4, pf=0.6),
                       Off(FED, q=0.76, cap=0.3, pf=0.55, setup=30_000)],
    "ambulance_services": [Off("nwas_trust", inc=1.0)],
    "emergency_admission_short_stay": [Off(RBL, cap=0.95, inc=0.85), Off(RJR, cap=0.15,
                                                                          inc=0.08),
                                       Off(REM, cap=0.1, inc=0.05), Off(RBN, cap=0.05,
                                                                        inc=0.02)],
    "emergency_admission_long_stay": [Off(RBL, cap=0.95, inc=0.85), Off(RJR, cap=0.15,
                                                                         inc=0.08),
                                      Off(REM, cap=0.1, inc=0.05), Off(RBN, cap=0.05,
                                                                       inc=0.02)],
    "hip_fracture": [Off(RBL, cap=1.0, inc=0.9), Off(RJR, cap=0.3, inc=0.1)],
    "acute_stroke": [Off(RBL, q=0.79, cap=1.0, inc=0.9), Off(RJR, q=0.76, cap=0.3, inc=0.1),
                     Off(REM, q=0.86, cap=0.4, setup=20_000)],
    "adult_critical_care": [Off(RBL, cap=1.0, inc=0.85), Off(REM, cap=0.4, inc=0.15)],
    # maternity
    "normal_birth": [Off(RBL, cap=0.95, inc=0.85), Off("liverpool_womens_ft", cap=0.3, inc=0.1),
                     Off(RJR, cap=0.2, inc=0.05)],
    "assisted_birth": [Off(RBL, cap=0.95, inc=0.85), Off("liverpool_womens_ft", cap=0.3,
                                                         inc=0.1),
                       Off(RJR, cap=0.2, inc=0.05)],
    "caesarean_section": [Off(RBL, cap=0.95, inc=0.85), Off("liverpool_womens_ft", cap=0.3,
                                                            inc=0.1),
                          Off(RJR, cap=0.2, inc=0.05)],
    "antenatal_community_midwifery": [Off(RBL, inc=1.0), Off("liverpool_womens_ft", cap=0.3,
                                                             pf=1.05, setup=10_000)],
    "postnatal_community_midwifery": [Off(RBL, inc=1.0), Off("liverpool_womens_ft", cap=0.3,
                                                             pf=1.05, setup=10_000)],
    # mental health
    "mh_community_care": [Off("cwp_ft", q=0.80, inc=0.9),
                          Off("vol_mental_health_charity", q=0.74, cap=0.6, inc=0.1, pf=0.96),
                          Off("mersey_care_ft", q=0.86, cap=0.3, pf=1.04, setup=30_000)],
    "mh_provider_spells": [Off("cwp_ft", q=0.82, inc=0.95),
                           Off("mersey_care_ft", q=0.84, cap=0.3, inc=0.05)],
    "talking_therapies": [Off("se_wellbeing_cic", q=0.84, cap=0.6, inc=0.35, pf=1.0),
                          Off("cwp_ft", q=0.78, cap=0.6, inc=0.25, pf=1.05),
                          Off("vol_mental_health_charity", q=0.74, cap=1.0, pf=0.85)],
    "dementia_memory_nursing": [Off("cwp_ft", inc=0.7), Off(COM, inc=0.3, cap=0.6)],
    # long-term conditions
    "diabetes_specialist_care": [Off(COM, q=0.80, inc=0.7), Off(RBL, q=0.82, cap=1.0, inc=0.3,
                                                                 pf=1.1),
                                 Off(FED, q=0.79, pf=0.9, setup=40_000)],
    "diabetes_admissions": [Off(RBL, cap=1.0, inc=0.9), Off(RJR, cap=0.3, inc=0.1)],
    "copd_respiratory_nursing": [Off(COM, inc=1.0), Off(FED, cap=0.5, pf=0.92, setup=20_000)],
    "copd_admissions": [Off(RBL, cap=1.0, inc=0.9), Off(RJR, cap=0.3, inc=0.1)],
    "heart_failure_nursing": [Off(COM, inc=0.8), Off("lhch_ft", cap=0.5, inc=0.2, pf=1.15)],
    "heart_failure_admissions": [Off(RBL, cap=1.0, inc=0.9), Off(RJR, cap=0.3, inc=0.1),
                                 Off("lhch_ft", cap=0.1)],
    "community_matrons": [Off(COM, inc=1.0), Off(FED, cap=0.5, pf=0.95, setup=20_000)],
    "single_condition_rehab": [Off(COM, inc=0.8), Off("lhch_ft", q=0.88, cap=0.3, inc=0.2,
                                                      pf=1.1),
                               Off("se_therapies_cic", cap=0.5, pf=0.9)],
    "home_dialysis": [Off(REM, cap=1.0, inc=0.7), Off(RBL, cap=0.5, inc=0.3)],
    # specialised
    "heart_transplant": [Off("manchester_uh_ft", cap=5.0, inc=1.0), Off("papworth_ft", cap=5.0),
                         Off("newcastle_ft", cap=5.0)],
    "lung_transplant": [Off("manchester_uh_ft", cap=5.0, inc=1.0), Off("papworth_ft", cap=5.0),
                        Off("newcastle_ft", cap=5.0)],
    "liver_transplant": [Off("leeds_th_trust", cap=5.0, inc=0.6),
                         Off("birmingham_uh_ft", cap=5.0, inc=0.4)],
    "kidney_transplant": [Off(REM, cap=3.0, inc=1.0), Off("manchester_uh_ft", cap=3.0)],
    "severe_burns": [Off(RBN, cap=3.0, inc=0.8), Off("manchester_uh_ft", cap=3.0, inc=0.2)],
    "allogeneic_bmt": [Off("christie_ft", cap=3.0, inc=0.7), Off(REM, cap=3.0, inc=0.3)],
    "neonatal_intensive_care": [Off("liverpool_womens_ft", cap=1.0, inc=0.8),
                                Off(RBL, q=0.72, cap=0.3, inc=0.2),
                                Off("alder_hey_ft", cap=0.3)],
    "paediatric_intensive_care": [Off("alder_hey_ft", cap=1.2, inc=1.0),
                                  Off("manchester_uh_ft", cap=0.5)],
    "childrens_cancer": [Off("alder_hey_ft", cap=1.5, inc=1.0), Off("manchester_uh_ft", cap=1.0)],
    "haemophilia_coagulation": [Off(REM, cap=1.0, inc=0.7), Off("alder_hey_ft", cap=0.5,
                                                                 inc=0.3),
                                Off("manchester_uh_ft", cap=1.0)],
    "cardiac_surgery_cabg": [Off("lhch_ft", cap=1.5, inc=1.0), Off("manchester_uh_ft", cap=0.5)],
    "cochlear_implants": [Off("manchester_uh_ft", cap=2.0, inc=0.7), Off("alder_hey_ft", cap=0.5,
                                                                         inc=0.3)],
    "hospital_haemodialysis": [Off(REM, cap=1.0, inc=0.6), Off(RBL, cap=0.6, inc=0.4),
                               Off("is_dialysis", cap=0.4)],
    "chemotherapy_delivery": [Off("clatterbridge_cc_ft", q=0.88, cap=1.2, inc=0.9),
                              Off(RBL, q=0.72, cap=0.4, inc=0.1, pf=0.9),
                              Off("christie_ft", q=0.92, cap=0.3, pf=1.05, setup=20_000)],
    # social care
    "reablement": [Off("la_wirral", q=0.78, inc=0.7), Off("is_home_care", q=0.72, cap=0.6,
                                                          inc=0.3, pf=0.85),
                   Off("vol_older_peoples_charity", q=0.86, cap=0.3, pf=1.1)],
    "home_care_hours": [Off("la_wirral", q=0.82, cap=0.5, inc=0.3, pf=1.15),
                        Off("is_home_care", q=0.70, cap=1.0, inc=0.7)],
    "nursing_home_fnc": [Off("is_care_homes", inc=1.0), Off("la_wirral", q=0.75, cap=0.2)],
    "community_equipment": [Off("la_wirral", inc=1.0), Off(COM, cap=0.5, pf=1.05)],
    "residential_respite": [Off("is_care_homes", cap=1.0, inc=0.7), Off("la_wirral", cap=0.5,
                                                                        inc=0.3, pf=1.1)],
    "carers_breaks": [Off("vol_carers_centre", cap=1.0, pf=0.95), Off("la_wirral", cap=0.6,
                                                                      inc=0.3)],
}


# --- reading the data -----------------------------------------------------------------------


def read_ncc(data: Path) -> pd.DataFrame:
    """The National Cost Collection 2023/24 summary, with codes and descriptions stripped."""
    frame = pd.read_csv(data / "ncc_2023_24.csv", encoding="utf-8-sig")
    frame.columns = ["dept", "code", "desc", "activity", "unit_cost", "cost"]
    frame["code"] = frame["code"].astype(str).str.strip()
    frame["desc"] = frame["desc"].astype(str).str.strip()
    frame["dept"] = frame["dept"].astype(str).str.strip()
    return frame


def ncc_rows(ncc: pd.DataFrame, pick: Ncc, claimed: set[int]) -> pd.DataFrame:
    """Rows of ``ncc`` selected by ``pick``; a residual pick takes the unclaimed rows."""
    depts = [NCC_DEPTS[d] for d in pick.depts]
    rows = ncc[ncc["dept"].isin(depts)]
    if pick.residual:
        return rows[~rows.index.isin(claimed)]
    rows = rows[rows["code"].str.match(f"(?:{pick.codes})")]
    if pick.desc:
        rows = rows[rows["desc"].str.contains(pick.desc, regex=True)]
    return rows


@dataclass
class Figures:
    """A service's derived demand and reference price, and where they came from."""

    demand: float
    price: float
    national_activity: float | None
    national_unit_cost: float | None
    rows: int
    codes: str


def round_demand(value: float) -> float:
    """Whole episodes for common services; two decimals keep rare ones (0.76 heart transplants)."""
    return float(round(value)) if value >= 100 else round(value, 2)


def service_figures(ncc: pd.DataFrame) -> dict[str, Figures]:
    """Demand = national activity x SCALE; price = NCC unit cost (cost/activity) x DEFLATOR."""
    figures: dict[str, Figures] = {}
    claimed: set[int] = set()
    ordered = sorted(SERVICES, key=lambda s: isinstance(s.source, Ncc) and s.source.residual)
    for svc in ordered:
        src = svc.source
        if isinstance(src, Assumed):
            figures[svc.service] = Figures(src.demand, src.price, None, None, 0, "")
            continue
        rows = ncc_rows(ncc, src, claimed)
        if rows.empty:
            raise SystemExit(f"no NCC rows for {svc.service}: {src}")
        overlap = claimed & set(rows.index)
        if overlap and not src.residual:
            raise SystemExit(f"{svc.service} reuses NCC rows of another service")
        claimed |= set(rows.index)
        activity = float(rows["activity"].sum())
        unit_cost = float(rows["cost"].sum()) / activity
        codes = "residual" if src.residual else src.codes
        figures[svc.service] = Figures(round_demand(activity * SCALE),
                                       round(unit_cost * DEFLATOR, 2), activity, unit_cost,
                                       len(rows), codes)
    return figures


def trust_data(data: Path) -> pd.DataFrame:
    """Beds (KH03 Q3 2019/20) and 2023/24 A&E 4-hour performance for every trust with them."""
    beds = pd.read_csv(data / "englandTrusts_kh03_q3_2019_20.csv").set_index("trustId")
    ae = pd.read_csv(data / "england_trust_accidents_emergency.csv")
    ae["date"] = pd.to_datetime(ae["date"], format="%B %Y")
    year = ae[(ae["date"] >= "2023-04-01") & (ae["date"] < "2024-04-01")]
    perf = year.groupby("nhs_trust22_code")[["total_attendances", "attendances_over_4hours"]]
    sums = perf.sum(min_count=1)
    sums = sums[sums["total_attendances"] > 0]
    beds["over_4h"] = sums["attendances_over_4hours"] / sums["total_attendances"]
    return beds


def trust_quality(over_4h: float) -> float:
    """Stated mapping: quality = 0.55 + 0.4 x (share of A&E attendances seen within 4 hours).

    No trust-level CQC ratings are available (data/nhs/README.md), so the 4-hour standard, the
    one routinely published quality measure in the files, stands in for a composite score."""
    return round(0.55 + 0.4 * (1.0 - over_4h), 2)


def bed_day_capacity(acute_beds: float, day_beds: float, share: float) -> float:
    """Bed-days a year this PCT may use: (overnight beds x 365 + day beds x 250) at 92 %
    occupancy, times the assumed share of the trust's beds used by this PCT's residents."""
    return round((acute_beds * 365 + day_beds * 250) * 0.92 * share, -2)


@dataclass
class Practice:
    """A real practice (or the aggregate of the others) from the list-size and CQC files."""

    provider: str
    name: str
    patients: float
    contract: str
    quality: float
    rating: str


def practices(data: Path) -> list[Practice]:
    """Wirral CCG's practices: list size (Jan 2021), contract type (2022/23), CQC rating."""
    lists = pd.read_csv(data / "gp-reg-pat-prac-all_jan2021.csv")
    lists = lists[lists["CCG_CODE"] == PRACTICE_CCG][["CODE", "NUMBER_OF_PATIENTS"]]
    cqc = pd.read_csv(data / "cqc_gp_practice_ratings.csv")
    cqc = cqc.sort_values("Year").drop_duplicates("Practice.Code", keep="last")
    pay = pd.read_csv(data / "gp_payments_22-23.csv", encoding="utf-8-sig", low_memory=False)
    pay = pay[["Practice Code", "Contract Type"]].drop_duplicates("Practice Code")
    table = (lists.merge(cqc, left_on="CODE", right_on="Practice.Code", how="left")
             .merge(pay, left_on="CODE", right_on="Practice Code", how="left"))
    table["rating"] = table["latest_rating"].fillna("Good")
    table["quality"] = table["rating"].map(CQC_SCORE).fillna(CQC_SCORE["Good"])
    table["contract"] = table["Contract Type"].fillna("GMS")
    table = table.sort_values(["NUMBER_OF_PATIENTS", "CODE"], ascending=[False, True])
    named = table.head(NAMED_PRACTICES)
    named = pd.concat([named, table[~table.index.isin(named.index)
                                    & (table["rating"] != "Good")
                                    & (table["rating"] != "Outstanding")]])
    rest = table[~table.index.isin(named.index)]
    out = [Practice(f"gp_{row.CODE}", str(row.location_name), float(row.NUMBER_OF_PATIENTS),
                    str(row.contract), float(row.quality), str(row.rating))
           for row in named.itertuples()]
    weights = rest["NUMBER_OF_PATIENTS"].astype(float)
    pms_share = float(weights[rest["contract"] == "PMS"].sum() / weights.sum())
    out.append(Practice(OTHER, f"the other {len(rest)} Wirral practices (aggregate)",
                        float(weights.sum()), f"{pms_share:.3f} PMS",
                        round(float((rest["quality"] * weights).sum() / weights.sum()), 3),
                        "list-weighted mean"))
    return out


def practice_price(contract: str) -> float:
    """GMS or PMS price per patient; the aggregate pays the list-weighted mix of the two."""
    if contract == "GMS":
        return GMS_PRICE
    if contract == "PMS":
        return PMS_PRICE
    share = float(contract.split()[0])
    return round(GMS_PRICE * (1 - share) + PMS_PRICE * share, 2)


# --- building the tables --------------------------------------------------------------------


def fmt(value: float | None, digits: int = 2) -> str:
    """A CSV cell: blank for None, integers without '.0', else rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    rounded = round(float(value), digits)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.{digits}f}".rstrip("0").rstrip(".")


def share_volume(demand: float, share: float | None, up: bool) -> float | None:
    """A share of demand in whole episodes (rounded up for capacities, to 2 dp when rare)."""
    if share is None:
        return None
    raw = demand * share
    if demand < 100:
        return math.ceil(raw * 100) / 100 if up else round(raw, 2)
    return float(math.ceil(raw)) if up else float(round(raw))


ACRONYMS = {"gp": "GP", "nhs": "NHS", "aaa": "AAA", "gum": "GUM", "gi": "GI", "mri": "MRI",
            "ivf": "IVF", "ae": "A&E", "copd": "COPD", "bmt": "BMT", "cabg": "CABG",
            "fnc": "FNC", "mh": "mental health", "childrens": "children's"}
SERVICE_NAMES = {"mh_community_care": "Community mental health care",
                 "mh_provider_spells": "Mental health inpatient spells",
                 "nursing_home_fnc": "Nursing home care (FNC)",
                 "allogeneic_bmt": "Allogeneic bone marrow transplant",
                 "cardiac_surgery_cabg": "Cardiac surgery (CABG)",
                 "ae_attendance": "A&E attendance"}
"""Names that reading the id word by word would get wrong; the rest come from the id."""


def service_name(service: str) -> str:
    """A plain name for a service id: gp_core_services -> 'GP core services'."""
    if service in SERVICE_NAMES:
        return SERVICE_NAMES[service]
    words = [ACRONYMS.get(w, w) for w in service.split("_")]
    return words[0][:1].upper() + words[0][1:] + "".join(" " + w for w in words[1:])


def build(data: Path) -> dict[str, object]:
    """Make every table as rows of strings, plus the facts the README reports."""
    ncc = read_ncc(data)
    figures = service_figures(ncc)
    trusts = trust_data(data)
    gps = practices(data)
    rng = np.random.default_rng(SEED)
    svc_by_id = {s.service: s for s in SERVICES}

    # provider default qualities and bed-day capacities
    default_q: dict[str, float] = {}
    capacity: dict[str, float] = {}
    trust_facts: dict[str, dict[str, object]] = {}
    for prov in PROVIDERS:
        q = prov.quality
        if prov.ods and prov.ods in trusts.index:
            row = trusts.loc[prov.ods]
            if q is None and not pd.isna(row["over_4h"]):
                q = trust_quality(float(row["over_4h"]))
            if prov.catchment_share:
                capacity[prov.provider] = bed_day_capacity(float(row["acuteBeds"]),
                                                           float(row["dayBeds"]),
                                                           prov.catchment_share)
            trust_facts[prov.provider] = {
                "ods": prov.ods, "name": str(row["trustName"]), "beds": int(row["acuteBeds"]),
                "day_beds": int(row["dayBeds"]),
                "over_4h": None if pd.isna(row["over_4h"]) else float(row["over_4h"])}
        if q is None:
            raise SystemExit(f"no quality for {prov.provider}")
        default_q[prov.provider] = q
    for gp in gps:
        default_q[gp.provider] = gp.quality

    offers: dict[str, list[Off]] = {k: list(v) for k, v in OFFERS.items()}
    offers["gp_core_services"] = []
    for gp in gps:
        # list sizes are 2021; the 2010 PCT has 320,000 people, so status-quo lists are the
        # 2021 lists scaled down, and the 2021 list is each practice's capacity
        total = sum(g.patients for g in gps)
        offers["gp_core_services"].append(
            Off(gp.provider, q=gp.quality, cap=gp.patients / POPULATION,
                inc=gp.patients / total))
    missing = [s.service for s in SERVICES if s.service not in offers]
    if missing:
        raise SystemExit(f"services without offers: {missing}")

    offer_rows: list[dict[str, str]] = []
    income: dict[str, float] = {}
    used_by: dict[str, set[str]] = {}
    for svc in SERVICES:
        fig = figures[svc.service]
        for off in offers[svc.service]:
            if off.provider not in default_q:
                raise SystemExit(f"offer of unknown provider {off.provider}")
            if off.q is not None:
                q = off.q
            else:
                q = float(np.clip(default_q[off.provider] + rng.normal(0.0, 0.015), 0.3, 0.98))
            if svc.service == "gp_core_services":
                gp = next(g for g in gps if g.provider == off.provider)
                price = practice_price(gp.contract)
            else:
                price = round(fig.price * off.pf, 2)
            unit_price = fig.price if svc.tariff else price
            inc = share_volume(fig.demand, off.inc, up=False) or 0.0
            cap = share_volume(fig.demand, off.cap, up=True)
            if cap is not None and inc > cap:
                raise SystemExit(f"{svc.service}/{off.provider}: incumbent volume above capacity")
            use = svc.bed_days if off.provider in capacity else 0.0
            offer_rows.append({
                "provider": off.provider, "service": svc.service, "capacity": fmt(cap),
                "price": "" if svc.tariff else fmt(price), "quality": fmt(q),
                "capacity_use": fmt(use), "setup_cost": fmt(off.setup or None),
                "incumbent_volume": fmt(inc)})
            income[off.provider] = income.get(off.provider, 0.0) + inc * unit_price
            used_by.setdefault(off.provider, set()).add(svc.service)

    provider_rows: list[dict[str, str]] = []
    all_providers = list(PROVIDERS) + [
        Prov(gp.provider, "gp_practice", gp.name, "practice list + CQC", quality=gp.quality,
             min_income_share=0.95, exit_share=0.25, conflicted=("practice",),
             list_size=int(gp.patients), contract=gp.contract, extra={"rating": gp.rating})
        for gp in gps]
    for prov in all_providers:
        if prov.provider not in used_by:
            raise SystemExit(f"provider {prov.provider} has no offers")
        status_quo = income.get(prov.provider, 0.0)
        incumbent = status_quo > 0
        if prov.entry_cost and incumbent:
            raise SystemExit(f"{prov.provider} is an incumbent with an entry cost")
        provider_rows.append({
            "provider": prov.provider, "name": prov.name[:1].upper() + prov.name[1:],
            "kind": prov.kind,
            "min_income": fmt(round(prov.min_income_share * status_quo, -3) or None, 0),
            "entry_cost": fmt(prov.entry_cost or None, 0),
            "exit_cost": fmt(round(prov.exit_share * status_quo, -3) or None, 0),
            "incumbent": "true" if incumbent else "false",
            "total_capacity": fmt(capacity.get(prov.provider), 0),
            "conflicted_levels": ";".join(prov.conflicted)})

    service_rows: list[dict[str, str]] = []
    for svc in SERVICES:
        fig = figures[svc.service]
        service_rows.append({
            "service": svc.service, "name": service_name(svc.service),
            "category": svc.category, "setting": svc.setting,
            "demand": fmt(fig.demand), "cost_cv": fmt(svc.cost_cv),
            "tariff": fmt(fig.price) if svc.tariff else "",
            "mandatory": "true" if svc.mandatory else "false",
            "qaly_gain": fmt(svc.qaly_gain, 4), "min_quality": fmt(svc.min_quality),
            "min_avg_quality": fmt(svc.min_avg_quality),
            "min_providers": fmt(svc.min_providers), "max_providers": fmt(svc.max_providers),
            "choice_headroom": fmt(svc.choice_headroom), "min_share": fmt(svc.min_share),
            "allowed_levels": ";".join(svc.allowed)})

    level_rows = [{"level": lv, "name": LEVEL_NAMES[lv], "order": str(order), "population": fmt(pop),
                   "transaction_cost": fmt(tc), "risk_tolerance": fmt(tau),
                   "max_services": fmt(cap)} for lv, order, pop, tc, tau, cap in LEVELS]
    effect_rows = [{"level": lv, "category": cat, "demand_factor": fmt(f)}
                   for lv, cat, f in LEVEL_EFFECTS]

    status_quo_spend = sum(income.values())
    budget = float(BUDGET)
    return {
        "services": service_rows, "providers": provider_rows, "offers": offer_rows,
        "levels": level_rows, "level_effects": effect_rows, "figures": figures,
        "status_quo_spend": status_quo_spend, "budget": budget, "income": income,
        "capacity": capacity, "trust_facts": trust_facts, "practices": gps,
        "all_providers": all_providers, "svc_by_id": svc_by_id}


def eligible_levels(service: dict[str, str]) -> list[str]:
    """Levels where the CV rule of MODEL.md §2 lets this service be commissioned."""
    demand = float(service["demand"])
    k = float(service["cost_cv"] or 0)
    allowed = service["allowed_levels"].split(";") if service["allowed_levels"] else None
    out = []
    for lv, _order, pop, _tc, tau, _cap in LEVELS:
        if allowed and lv not in allowed:
            continue
        if demand <= 0:
            continue
        cv = math.sqrt((1 + k * k) / (demand / POPULATION * pop))
        if tau is None or cv <= tau:
            out.append(lv)
    return out


# --- writing --------------------------------------------------------------------------------

COLUMNS = {
    "levels": ["level", "name", "order", "population", "transaction_cost", "risk_tolerance",
               "max_services", "delegated_budget"],
    "services": ["service", "name", "category", "setting", "demand", "cost_cv", "tariff", "mandatory",
                 "qaly_gain", "min_quality", "min_avg_quality", "min_providers",
                 "max_providers", "choice_headroom", "min_share", "allowed_levels"],
    "providers": ["provider", "name", "kind", "min_income", "entry_cost", "exit_cost", "incumbent",
                  "total_capacity", "conflicted_levels"],
    "offers": ["provider", "service", "capacity", "price", "quality", "capacity_use",
               "setup_cost", "incumbent_volume"],
    "level_effects": ["level", "category", "demand_factor"],
}


def _quoted(cell: str) -> str:
    """A CSV cell, quoted only if it must be (a name with a comma or a quote), as pandas and
    the csv module do, so instances/pct_5y (written by pandas) quotes the same cells."""
    if "\n" in cell or "\r" in cell:
        raise SystemExit(f"a cell holds a line break: {cell!r}")
    if "," in cell or '"' in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, str]]) -> None:
    """Plain CSV with LF line ends; only names may need quoting (numbers and ids never do)."""
    lines = [",".join(columns)]
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        if any("," in c or '"' in c for k, c in zip(columns, cells) if k != "name"):
            raise SystemExit(f"cell needs quoting in {path.name}: {cells}")
        lines.append(",".join(_quoted(c) for c in cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def instance_yaml(budget: float) -> str:
    """instance.yaml: the single-year 2010/11 policy."""
    config = {
        "name": "pct",
        "description": (f"A primary care trust of 320,000 people planning 2010/11: "
                        f"{len(SERVICES)} services from GP lists to heart transplants and "
                        "jointly commissioned social care, grounded in public NHS England data "
                        "(see README.md)"),
        "currency": "GBP",
        "population": POPULATION,
        "base_year": 2010,
        "horizon": 1,
        "policy": {
            "budget": int(budget),
            "management_cost_cap": None,
            "value_per_qaly": VALUE_PER_QALY,
            "risk_aversion": RISK_AVERSION,
            "break_even": "annual",
        },
    }
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the tables and write them (and README.md) to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nhs-data", type=Path, default=DEFAULT_NHS_DATA,
                        help="folder with the public NHS CSV files (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="instance folder to write (default: %(default)s)")
    args = parser.parse_args(argv)
    needed = ["ncc_2023_24.csv", "englandTrusts_kh03_q3_2019_20.csv",
              "england_trust_accidents_emergency.csv", "gp-reg-pat-prac-all_jan2021.csv",
              "cqc_gp_practice_ratings.csv", "gp_payments_22-23.csv"]
    absent = [n for n in needed if not (args.nhs_data / n).is_file()]
    if absent:
        print(f"error: {args.nhs_data} lacks {', '.join(absent)}. The shipped instance was "
              "built from the public files listed in data/nhs/README.md; nothing was written.",
              file=sys.stderr)
        return 2
    built = build(args.nhs_data)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for table in ("levels", "services", "providers", "offers", "level_effects"):
        write_csv(out / f"{table}.csv", COLUMNS[table], built[table])  # type: ignore[arg-type]
    (out / "instance.yaml").write_text(instance_yaml(float(built["budget"])), encoding="utf-8")
    from_readme = readme(built)
    (out / "README.md").write_text(from_readme, encoding="utf-8")
    print(f"wrote {out}: {len(built['services'])} services, "  # type: ignore[arg-type]
          f"{len(built['providers'])} providers, {len(built['offers'])} offers, "  # type: ignore[arg-type]
          f"{len(built['levels'])} levels; budget £{built['budget']:,.0f}")
    return 0


def _money(value: float) -> str:
    """£ with thousands separators, no pence."""
    return f"£{value:,.0f}"


def _source_text(svc: Svc, fig: Figures) -> str:
    """The provenance cell of the README's service table."""
    src = svc.source
    if isinstance(src, Assumed):
        return f"assumption: {src.why}"
    depts = "+".join(src.depts)
    rows = f"{fig.rows} row" + ("s" if fig.rows != 1 else "")
    if src.residual:
        return f"NCC {depts}: every row not used by another service ({rows})"
    extra = f", description matching `{src.desc}`" if src.desc else ""
    # a literal | would end the markdown table cell
    return f"NCC {depts} `{src.codes}`{extra} ({rows})".replace("|", "\\|")


SOURCES: list[tuple[str, str]] = [
    ('population 320,000',
     'DOMAIN.md: a PCT is ~320,000 (200,000-600,000)'),
    ('service demand (NCC services)',
     '`ncc_2023_24.csv`, column `Activity`, summed over the HRG/currency rows listed below, × '
     '320,000 / 56,500,000 (England, Census 2021). Rare services keep two decimals (0.76 heart '
     'transplants a year)'),
    ('tariff (PbR services) and reference local price',
     '`ncc_2023_24.csv`: `Cost` ÷ `Activity` over the same rows (the activity-weighted NCC unit '
     'cost), × {deflator} to 2010/11 prices. No National Tariff file is available, so NCC unit '
     'costs are the tariff basis. {deflator} is an assumption: roughly the HM Treasury GDP '
     'deflator movement from 2010-11 to 2023-24 (≈ 39 % inflation)'),
    ('which services have a `tariff`',
     'Payment by Results covered most acute hospital activity in 2010/11 (DOMAIN.md): elective, '
     'emergency and maternity spells, A&E, outpatients, imaging, critical care, dialysis and '
     'specialised HRGs. Community, primary, mental health, ambulance, minor injuries, '
     'chemotherapy delivery and social care have a blank tariff and a local price per offer'),
    ('local offer prices',
     "the service's reference price × a provider factor (0.55-1.15, assumption: e.g. a walk-in "
     'centre at 0.6 of A&E cost for minor injuries, a social enterprise 10-15 % below the '
     'incumbent, a hospital 5-15 % above a community provider)'),
    ('GP core contract price',
     'DOMAIN.md (seed 002): GMS £{gms} and PMS £{pms} per registered patient (Haringey 2010; PMS '
     '~27 % above GMS); the aggregate of the other practices pays the list-weighted mix'),
    ('GP practices',
     '`gp-reg-pat-prac-all_jan2021.csv` (`CCG_CODE` {ccg}, `NUMBER_OF_PATIENTS`): the {named} '
     'largest Wirral practices, plus any rated below Good, by name; the other practices as one '
     'aggregate provider. Capacity = 2021 list; status-quo list = 2021 list × 320,000 / 338,130. '
     '`Contract Type` from `gp_payments_22-23.csv`; quality from `cqc_gp_practice_ratings.csv` '
     '`latest_rating` mapped Outstanding 0.95, Good 0.80, Requires improvement 0.60, Inadequate '
     '0.35 (stated mapping)'),
    ('acute and specialist trusts',
     'names and ODS codes from `englandTrusts_kh03_q3_2019_20.csv` / `etr.csv`. `total_capacity` '
     'in bed-days = (`acuteBeds` × 365 + `dayBeds` × 250) × 0.92 occupancy × the assumed share of'
     " the trust's beds used by this PCT (0.85 for the local FT, 0.005-0.2 for neighbours and "
     'tertiary centres). `capacity_use` = assumed bed-days per episode (e.g. hip replacement 4.5,'
     ' emergency long stay 7.5, day cases 0.05-0.1; 0 where a service uses no general and acute '
     'beds)'),
    ('trust quality',
     'no trust-level CQC ratings are available, so quality = 0.55 + 0.4 × (share of A&E '
     'attendances within 4 hours), from `england_trust_accidents_emergency.csv` '
     '(`attendances_over_4hours` / `total_attendances`, April 2023 - March 2024). Specialist '
     'trusts without A&E (Liverpool Heart and Chest, Clatterbridge, Christie, Papworth) 0.88-0.90'
     ' (assumption)'),
    ("other providers' quality",
     "assumption, in the range of the seeds' 44-97 % patient ratings (002): independent sector "
     '0.62-0.84, social enterprises 0.70-0.80, voluntary 0.77-0.92, local authority 0.78'),
    ('per-offer quality',
     "the provider's quality + a seeded N(0, 0.015) jitter (seed {seed}), except where an offer "
     'states its own (the offers that drive quality thresholds)'),
    ('offer capacity and status-quo volume',
     "shares of demand per offer (assumptions stated in the script's `OFFERS` table: e.g. the "
     'local FT holds 85-90 % of emergency activity; the wave-1 treatment centre 30-45 % of hips, '
     'knees and cataracts)'),
    ('`min_income` (break-even)',
     "a stated share of the provider's status-quo income from this PCT: the local acute FT 75 % "
     '(its fixed costs), the community provider, mental health trust and ambulance trust 85-90 %,'
     ' the treatment centre 90 % (its guaranteed-volume contract), the hospice 90 %, every GP '
     'practice 95 % (the minimum practice income guarantee, DOMAIN.md/000)'),
    ('`exit_cost`',
     'a stated share of status-quo income (double running, notice, stranded costs, '
     'DOMAIN.md/000): 25 % for the main NHS providers, the hospice and the practices, 50 % for '
     'the treatment centre, 5-10 % for the others'),
    ('`entry_cost`',
     '£15,000-£250,000 for providers with no contract today (procurement and mobilisation; '
     "£250,000 for the independent hospital's capital supplement, DOMAIN.md/000). `setup_cost` "
     '£10,000-£50,000 on new contracts of existing providers'),
    ('levels',
     'populations from DOMAIN.md (001 Table 1): personal 1, practice 5,500, locality 100,000, PCT'
     ' and joint LA 320,000, regional 5,000,000, supra-regional 15,000,000, national 50,000,000. '
     '`transaction_cost` (£ per contract per unit per year) and `risk_tolerance` are assumptions '
     '(below)'),
    ('level effects',
     'assumption after DOMAIN.md/001 (clinically led demand management of long-term conditions): '
     'demand × 0.93 personal, 0.95 practice, 0.97 locality'),
    ('`cost_cv`',
     'assumption by kind of currency: 0-0.2 capitation, screening, day cases; 0.3 contacts; '
     '0.4-0.8 inpatient and emergency spells; 1.0-2.5 critical care bed-days and rare specialised'
     ' spells'),
    ('`qaly_gain`',
     'assumptions of the right order for a QALY per episode at quality 1.0 (lifetime, e.g. hip '
     'replacement 1.2, heart transplant 5, a talking-therapy contact 0.009, an NHS health check '
     '0.0025); small values on routine contacts so quality still matters'),
    ('`mandatory`',
     'true for core NHS services; false for ten discretionary ones whose `qaly_gain` lets '
     'λ = £20,000 decide: NHS health checks, smoking cessation, falls prevention, talking '
     'therapies (the 2008-11 IAPT expansion), single-condition rehabilitation, bariatric surgery, '
     'carers\' breaks, and three of limited clinical value (varicose vein surgery, '
     'pain-management injections, IVF)'),
    ('service rules',
     'policy assumptions after DOMAIN.md: `min_providers` 2 for seven elective, diagnostic and '
     'hearing services (patient choice, 000) with `min_share` 0.1 so each chosen provider gets a '
     'real contract; `choice_headroom` 0.1 for hips, knees and cataracts ("at least some spare '
     'capacity", 000); `max_providers` 1 for diabetes specialist care (a lead provider, 004); '
     '`min_quality` 0.70 for every specialised service ("other providers should not be paid", '
     '000), 0.70 for wheelchairs and 0.75 for chemotherapy; `min_avg_quality` 0.76 community '
     'physiotherapy, 0.78 community mental health, 0.80 acute stroke, 0.74 home care'),
    ('`allowed_levels`',
     'by kind of service (the script\'s `PCT_ONLY`, `COMMUNITY`, `LTC_PERSONAL`, ... tuples): '
     'GP contracts PCT only; hospital and community services practice/locality/PCT as under '
     'practice-based commissioning; mental health may be joint with the local authority; '
     'specialised services up to the top of their designation (regional, supra-regional or '
     'national, DOMAIN.md Table 1); social care joint_la only; personal budgets only for '
     'community matrons, respiratory nursing and diabetes specialist care'),
    ('`incumbent`, `conflicted_levels`, `max_services`',
     '`incumbent` is true exactly for providers with some status-quo volume; every GP practice '
     'is conflicted at `practice` level (DOMAIN.md/000: practices should be principal '
     'contractors, not commission themselves); `max_services` 6 for practice and 12 for '
     'locality commissioning (assumption: commissioning capacity, 001/002)'),
    ('social care, NHS health checks, IVF',
     'no NHS data file covers them: demand and 2010/11 price are stated assumptions (table below)'),
    ('policy',
     '`value_per_qaly` {lam:,} (NICE, DOMAIN.md); `risk_aversion` {rho} (assumption); `budget` '
     '{budget}: see "The budget"'),
]
"""README rows: each kind of figure and where it comes from (formatted with the constants)."""


README_HEAD = """# `pct`: a primary care trust of 320,000 people, 2010/11

A realistic single-year instance of the commissioning planner: one English primary care trust
(PCT) of **320,000 people** planning **2010/11** (`base_year: 2010`, `horizon: 1`). It covers the
whole continuum of the seeds (DOMAIN.md, 001 Table 1): {n_services} services in every category,
from GP registration and district nursing to heart transplants and social care commissioned
jointly with the local authority, {n_providers} providers of every kind, {n_offers} offers and
{n_levels} commissioning levels from the personal health budget (1 person) to national
specialised commissioning (50 million).

Provider names are those of a real health economy (Wirral and the Cheshire and Merseyside
tertiary centres, chosen because NHS Wirral CCG's 2021 list, 338,130 patients, is the nearest
real area to a 320,000 PCT), so that bed capacities, A&E performance, practice list sizes and CQC
ratings are real figures. **Demand is national average activity scaled to 320,000 people, not
Wirral's own activity, and the contracts, prices, shares, quality scores and break-even figures
are illustrative; the instance is not a description of any real organisation's contracts or
performance.**

All tables were written by `scripts/make_pct_instance.py` (deterministic: fixed seed
{seed}, no network) from the public files in `data/nhs/` beside the shared `MODEL.md`; they are
committed, so nobody needs to rerun it. Regenerate with

```
python scripts/make_pct_instance.py --nhs-data ../shared/data/nhs --out instances/pct
```

## Where every kind of figure comes from

Seeds are cited by number, as in DOMAIN.md: 000 = `000_dee70ebc216cf0f7.txt` (King's Fund,
*Making it happen*, 2008), 001 = `001_262c1a695615ade6.txt` (Nuffield Trust, *Where next for
commissioning in the English NHS?*; its Table 1 gives the continuum's populations), 002 =
`002_ff2d1bd2afbd0e6d.txt` (King's Fund, *Improving the quality of commissioning GP services*;
the Haringey GMS/PMS prices), 003 = `003_29e25bafe858a0f8.txt` (King's Fund on practice-based
commissioning), 004 = `004_1824d698d3b39c39.txt` (*Where next for the NHS reforms? The case for
integrated care*).

| figure | source |
|---|---|
{sources_rows}

## Levels

| level | population | transaction cost £/contract/unit | per person | risk tolerance | max services |
|---|---:|---:|---:|---:|---:|
{level_rows}

Per person a contract costs most at small levels (DOMAIN.md/001: fundholders "had high
transaction costs"); the personal level's £0.50 a head is the cost of support planning and
brokerage. Risk tolerance is the largest coefficient of variation of one unit's annual spend on a
service that the unit can bear. With the compound-Poisson rule of MODEL.md §2,
CV = sqrt((1 + k²) / (r n)), a unit at a level bears a service only if it expects enough
episodes: with τ = 0.12, k = 0.6 a unit needs about 94 a year. The heart-transplant rate (0.76 a
year for 320,000) gives CV 0.19 at a supra-regional group of 15 million, so **heart and lung
transplants are eligible only nationally**; liver transplants supra-regionally or nationally;
severe burns and allogeneic bone marrow transplants only supra-regionally (the top of their
designation); children's cancer, haemophilia and cochlear implants regionally or above. The
personal level has no tolerance limit (the budget follows the care plan; the NHS keeps the
risk, which the objective still prices through ρ) and is allowed only for three long-term
condition services (`allowed_levels`). Joint commissioning with the local authority costs a
little more per contract than the PCT alone (pooled-budget governance); social care may only be
commissioned there.

## Services

`national activity` is the NCC `Activity` summed over the rows; `unit cost` is their
activity-weighted NCC unit cost (2023/24 £); `demand` = activity × 320,000 / 56.5 m;
`price` = unit cost × {deflator} (the `tariff` column where the service has one, otherwise the
reference for the offers' local prices). `eligible levels` applies the CV rule to
`allowed_levels`.

{service_header}
{service_rows}

## Providers

| provider | kind | name | figures from | total capacity (bed-days) | status-quo income | min_income |
|---|---|---|---|---:|---:|---:|
{provider_rows}

## The budget

The budget is {budget} (a stated assumption). The status-quo cost of the modelled services (the
incumbent volumes at 2010/11 prices, before transaction costs) is {status_quo}. {budget_text}

The modelled services are about 60 % of a 2010/11 PCT allocation of ~£550 m for 320,000 people
(DOMAIN.md); prescribing, continuing healthcare and running costs are outside the instance.

## What the optimal plan shows

Solved with `planner solve instances/pct --out DIR` (HiGHS, a few seconds):
{results}

## Caveats

- Demand is national 2023/24 activity per head, not 2010/11 activity: emergency admissions per
  head have grown since 2010, and the HRG grouping of 2023/24 (HRG4+) differs from 2010/11's.
- One deflator for every unit cost; the 2010/11 tariff was set HRG by HRG and differed.
- Mental health `MHPS` (Mental Health Provider Spell) and `MHCC` (care contact) are the NCC's
  2023/24 currencies; mental health was block-contracted in 2010/11 and is priced locally here.
- Trust bed counts are 2019/20 (KH03); Liverpool University Hospitals FT and Manchester
  University FT are post-merger organisations that did not exist in 2010.
- Quality scores, shares, break-even and exit figures are illustrative assumptions (stated
  above), not assessments of the named organisations.
- GP registration is modelled as a service whose volume the PCT can move between practices
  (2021 lists as capacity, 5.7 % above the 2010 population). In reality patients choose their
  practice; the point it makes is the minimum practice income guarantee, which binds.
- The aggregate `gp_other_practices` stands for 36 real practices; its quality is their
  list-weighted CQC score and its price the list-weighted GMS/PMS mix.
"""


def readme(built: dict[str, object]) -> str:
    """README.md of the instance: provenance of every kind of figure, with the derived tables."""
    figures: dict[str, Figures] = built["figures"]  # type: ignore[assignment]
    services: list[dict[str, str]] = built["services"]  # type: ignore[assignment]
    by_id = {row["service"]: row for row in services}
    service_lines = []
    for svc in SERVICES:
        fig = figures[svc.service]
        row = by_id[svc.service]
        national = f"{fig.national_activity:,.0f}" if fig.national_activity else "-"
        unit_cost = f"{fig.national_unit_cost:,.2f}" if fig.national_unit_cost else "-"
        price_text = (f"{GMS_PRICE} / {PMS_PRICE}" if svc.service == "gp_core_services"
                      else f"{fig.price:,.2f}")
        service_lines.append(
            f"| `{svc.service}` | {svc.category} | {svc.setting} | {svc.unit} | "
            f"{_source_text(svc, fig)} | {national} | {unit_cost} | {fig.demand:,g} | "
            f"{price_text} | {'yes' if svc.tariff else 'no'} | "
            f"{', '.join(eligible_levels(row))} |")
    level_lines = []
    for lv, _order, pop, tc, tau, cap in LEVELS:
        per_person = tc / pop
        level_lines.append(
            f"| {lv} | {pop:,} | {tc:,.2f} | {per_person:.4f} | "
            f"{'unlimited' if tau is None else tau} | {'' if cap is None else cap} |")
    income: dict[str, float] = built["income"]  # type: ignore[assignment]
    capacity: dict[str, float] = built["capacity"]  # type: ignore[assignment]
    prov_rows = {row["provider"]: row for row in built["providers"]}  # type: ignore[attr-defined]
    provider_lines = []
    for prov in built["all_providers"]:  # type: ignore[attr-defined]
        row = prov_rows[prov.provider]
        source = prov.source
        if prov.kind == "gp_practice":
            source = (f"list {prov.list_size:,} (Jan 2021), {prov.contract}, CQC "
                      f"{prov.extra['rating']} → {prov.quality}")
        cap = capacity.get(prov.provider)
        name = prov.name + (f" ({prov.ods})" if prov.ods else "")
        provider_lines.append(
            f"| `{prov.provider}` | {prov.kind} | {name} | {source} | "
            f"{'' if cap is None else f'{cap:,.0f}'} | {_money(income.get(prov.provider, 0))} | "
            f"{_money(float(row['min_income'])) if row['min_income'] else ''} |")
    constants = {"seed": SEED, "deflator": DEFLATOR, "gms": GMS_PRICE, "pms": PMS_PRICE,
                 "ccg": PRACTICE_CCG, "named": NAMED_PRACTICES, "lam": VALUE_PER_QALY,
                 "rho": RISK_AVERSION, "budget": _money(float(built["budget"]))}  # type: ignore[arg-type]
    sources = "\n".join(f"| {fig} | {src.format(**constants)} |" for fig, src in SOURCES)
    header = ["service", "category", "setting", "unit", "source rows", "national activity",
              "unit cost 2023/24", "demand", "price 2010/11", "tariff?", "eligible levels"]
    align = ["---", "---", "---", "---", "---", "---:", "---:", "---:", "---:", "---", "---"]
    service_header = "| " + " | ".join(header) + " |\n|" + "|".join(align) + "|"
    return README_HEAD.format(
        sources_rows=sources, service_header=service_header,
        n_services=len(services), n_providers=len(prov_rows),
        n_offers=len(built["offers"]),  # type: ignore[arg-type]
        n_levels=len(LEVELS), seed=SEED, deflator=DEFLATOR, gms=GMS_PRICE, pms=PMS_PRICE,
        ccg=PRACTICE_CCG, named=NAMED_PRACTICES, lam=VALUE_PER_QALY, rho=RISK_AVERSION,
        budget=_money(float(built["budget"])),  # type: ignore[arg-type]
        status_quo=_money(float(built["status_quo_spend"])),  # type: ignore[arg-type]
        level_rows="\n".join(level_lines),
        service_rows="\n".join(service_lines), provider_rows="\n".join(provider_lines),
        results=RESULTS, budget_text=BUDGET_TEXT)


BUDGET_TEXT = """The budget lies between two figures measured with the planner (HiGHS, gap 0):

- the cheapest valid plan, every mandatory service in full and nothing else (`value_per_qaly`
  and `risk_aversion` set to 0, `--without budget`): **£336,357,710**;
- the plan the planner chooses with no budget limit at λ = £20,000 per QALY
  (`planner solve instances/pct --without budget`): spend **£342,048,033**, 5,640 QALYs.

So the budget **binds**: the planner wants to spend about £1.05 m more than it has, on
discretionary services (health checks, carers' breaks) and on dearer, better providers. A 1 %
cut (£337.6 m) is still feasible; a 5 % cut is not, because almost all of the spend is on
mandatory services at national tariff (the planner's diagnosis says by how much to relax). This
is deliberate: a PCT's real room for manoeuvre in one year is small (DOMAIN.md, 001)."""

RESULTS = """
- status **optimal** (gap 0), HiGHS solve about 1.3 s (1,183 variables, 707 binary, 1,989
  constraints); spend **£341,000,000 = budget** (headroom £0), of which activity £339.05 m,
  transaction costs £1.77 m, setup £50,000, entry £125,000, exit £4,000; risk cost £0.87 m;
  5,573 QALYs; objective £230,411,482.
- **six levels used**: PCT 53 services, regional 13 (ambulance, screening hubs, critical care,
  neonatal and paediatric intensive care, children's cancer, haemophilia, cardiac surgery,
  dialysis, chemotherapy, wheelchairs, bariatric surgery), locality 8 (long-term-condition
  services, where clinically led commissioning cuts demand by 3 %), joint with the local
  authority 5 (social care), supra-regional 4 (kidney transplants, severe burns, allogeneic
  bone marrow transplants, cochlear implants) and national 3 (heart, lung and liver
  transplants). The practice and personal levels are eligible for some services but not
  chosen: their transaction costs and risk outweigh a 5-7 % demand reduction at these volumes.
- **break-even binding** (income = `min_income`): the independent treatment centre (its
  guaranteed-volume floor keeps work there that the planner would move to better NHS
  providers), the community provider (therapy contacts move to a cheaper social enterprise
  until the provider's floor stops them), the mental health trust (inpatient spells move to
  Mersey Care until the floor binds) and four PMS practices (patients move to cheaper GMS
  lists until the minimum practice income guarantee binds).
- **quality thresholds binding**: community physiotherapy's `min_avg_quality` 0.76 is met
  exactly (the cheaper social enterprise at quality 0.70 takes as much as the average allows);
  the `min_quality` 0.70 on the wheelchair service excludes the cheaper independent provider
  (quality 0.62, £125.53 against £156.91), and the 0.75 on chemotherapy delivery excludes the
  local FT's cheaper offer (0.72, £281.25 against £312.50).
- **not commissioned**: NHS health checks and carers' breaks (worth buying at £20,000 per QALY
  but squeezed out by the budget), and varicose vein surgery, pain-management injections and
  IVF (of limited value at this λ: decommissioning them releases money).
- `planner.results.verify` finds no violated constraint. The planner's marginal values: +1 % of budget
  buys about 67 QALYs (19.7 per £1 m); -1 % loses about 231."""


if __name__ == "__main__":
    raise SystemExit(main())
