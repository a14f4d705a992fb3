"""The shape of an instance: ``instance.yaml`` as frozen pydantic models, and the tables' columns.

Unknown keys are errors (``extra="forbid"``): a misspelt policy key silently ignored would give a
plan for a different policy than the analyst meant. Models are frozen so an instance cannot be
changed behind a solved plan's back; scenarios are made by copying with overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        """Refuse true/false for every setting (none is a yes/no): pydantic would otherwise
        read ``budget: true`` as £1 and ``horizon: true`` as one year."""
        if isinstance(value, bool) or (isinstance(value, list)
                                       and any(isinstance(v, bool) for v in value)):
            raise ValueError("true/false is not a valid value here; give a number or text")
        return value


class SettingTarget(_Strict):
    """Minimum share of a category's activity delivered in the given settings, by year."""

    category: str
    settings: list[Literal["hospital", "community", "home"]]
    min_share: float | list[float]


class Policy(_Strict):
    """The commissioner's rules for the plan. Money in £ per year."""

    budget: float | list[float] | None = Field(
        default=None, description="£ available per year (list of T numbers for T > 1); None = no limit"
    )
    management_cost_cap: float | None = Field(default=None, ge=0, description="£ per year")
    value_per_qaly: float = Field(default=0.0, ge=0, description="λ, £ per QALY")
    risk_aversion: float = Field(default=0.0, ge=0, description="ρ, £ per £ of spend s.d.")
    break_even: Literal["annual", "carry_forward", "multi_year"] = "annual"
    break_even_window: int = Field(default=3, ge=1, le=5, description="years")
    demand_growth: float = Field(default=0.0, gt=-1, description="yearly fraction")
    price_change: float = Field(default=0.0, gt=-1, description="yearly fraction")
    min_contract_years: int = Field(default=1, ge=1, description="years")
    setting_targets: list[SettingTarget] = Field(default_factory=list)
    budget_confidence: float | None = Field(
        default=None, gt=0, lt=1,
        description="prudent budget: break even with at least this probability (horizon 1); None = off")
    quality_withhold: float = Field(default=0.0, ge=0, le=1, description=(
        "share of the price withheld and earned back by quality: an episode is paid "
        "price × (1 − w + w × quality)"))
    # areas and fair shares (issue 17, formulations.areas): areas.csv gives the localities
    fair_share_band: float | None = Field(
        default=None, ge=0, le=1,
        description="each area's spend per need-weighted head within ±band of the mean; None = off")
    savings_retention: float = Field(
        default=0.0, ge=0, le=1, description="share of an underspend against an area's indicative "
                                             "budget the area keeps (reported; added next year)")
    la_contribution: float | list[float] = Field(
        default=0.0, description="£ a year the local authority pools for pooled levels' services")

    @field_validator("la_contribution")
    @classmethod
    def _contribution_positive(cls, value: float | list[float]) -> float | list[float]:
        for item in value if isinstance(value, list) else [value]:
            if not (item >= 0 and item < float("inf")):
                raise ValueError("la_contribution must be a finite number of £ ≥ 0 (a list of "
                                 "T numbers for T > 1)")
        return value

    @field_validator("budget")
    @classmethod
    def _budget_positive(cls, value: float | list[float] | None) -> float | list[float] | None:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is not None and not (item >= 0 and item < float("inf")):
                raise ValueError("budget must be a finite number of £ ≥ 0")
        return value


class TablePaths(_Strict):
    """Where each table lives, relative to the instance folder (which it may not leave)."""

    levels: str = "levels.csv"
    services: str = "services.csv"
    providers: str = "providers.csv"
    offers: str = "offers.csv"
    level_effects: str = "level_effects.csv"
    effects: str = "effects.csv"
    bundles: str = "bundles.csv"
    areas: str = "areas.csv"
    area_demand: str = "area_demand.csv"


class InstanceConfig(_Strict):
    """The contents of ``instance.yaml``."""

    name: str = Field(min_length=1)
    description: str = ""
    currency: str = "GBP"
    population: float = Field(gt=0, description="N, people in the planning area")
    base_year: int = 2010
    horizon: int = Field(default=1, ge=1, le=50, description="planning years T")
    policy: Policy = Field(default_factory=Policy)
    tables: TablePaths = Field(default_factory=TablePaths)

    @field_validator("population")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value == float("inf"):
            raise ValueError("population must be finite")
        return value


# --- table columns -------------------------------------------------------------------------

ColumnKind = Literal["id", "text", "number", "integer", "bool", "list", "choice"]


@dataclass(frozen=True)
class Column:
    """One column of a table: its type, whether it must be present, its default and its range."""

    name: str
    kind: ColumnKind
    required: bool = False  # the column must be in the file
    default: object = None  # value of a blank cell; None = stays blank (e.g. "unlimited")
    blank_ok: bool = True  # a blank cell is allowed (takes ``default``)
    minimum: float | None = None
    maximum: float | None = None
    strictly_positive: bool = False
    choices: tuple[str, ...] = ()
    meaning: str = ""


PROVIDER_KINDS = (
    "nhs_trust",
    "foundation_trust",
    "gp_practice",
    "gp_federation",
    "social_enterprise",
    "independent",
    "voluntary",
    "local_authority",
    "community_provider",
)
SETTINGS = ("hospital", "community", "home")
#: How an offer is paid (issue 16): by activity (price × episodes) or as a block (a fixed £ a year).
PAYMENT_FORMS = ("activity", "block")
#: The optional ``name`` column of levels, services and providers: what reports show instead of
#: the id (ids stay the keys that tables refer to, so they must stay short and stable; a board
#: reads "High Street Surgery", not high_street_surgery). Plain text; duplicates are allowed.
NAME_MEANING = "plain name shown in reports; blank = the id"


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


#: the tables of an instance, in the order they are read and reported
TABLE_NAMES = ("levels", "services", "providers", "offers", "level_effects", "effects", "bundles",
               "areas", "area_demand")

TABLES: dict[str, TableSpec] = {
    "levels": TableSpec(
        "levels",
        (
            Column("level", "id", required=True, blank_ok=False),
            Column("name", "text", meaning=NAME_MEANING),
            Column("order", "integer", required=True, blank_ok=False),
            Column("population", "number", required=True, blank_ok=False, strictly_positive=True,
                   meaning="people per commissioning unit"),
            Column("transaction_cost", "number", default=0.0, minimum=0,
                   meaning="£ per contract per unit per year"),
            Column("risk_tolerance", "number", strictly_positive=True,
                   meaning="largest bearable CV of one unit's annual spend; blank = unlimited"),
            Column("max_services", "integer", minimum=0),
            Column("delegated_budget", "number", minimum=0, meaning="£ per year"),
            Column("pooled", "bool", default=False,
                   meaning="spend at this level may be paid from policy.la_contribution (issue 17); "
                           "the level joint_la is pooled whatever this says"),
        ),
        key=("level",),
    ),
    "services": TableSpec(
        "services",
        (
            Column("service", "id", required=True, blank_ok=False),
            Column("name", "text", meaning=NAME_MEANING),
            Column("category", "text", required=True, blank_ok=False),
            Column("setting", "choice", default="hospital", choices=SETTINGS),
            Column("demand", "number", minimum=0, meaning="episodes per year"),
            Column("activity_rate", "number", minimum=0, meaning="episodes per person per year"),
            Column("cost_cv", "number", default=0.0, minimum=0),
            Column("tariff", "number", minimum=0, meaning="£ per episode; blank = local prices"),
            Column("mandatory", "bool", default=False),
            Column("qaly_gain", "number", default=0.0, minimum=0, meaning="QALYs per episode"),
            Column("min_quality", "number", default=0.0, minimum=0, maximum=1),
            Column("min_avg_quality", "number", default=0.0, minimum=0, maximum=1),
            Column("min_providers", "integer", default=1, minimum=0),
            Column("max_providers", "integer", minimum=1),
            Column("choice_headroom", "number", default=0.0, minimum=0),
            Column("min_share", "number", default=0.0, minimum=0, maximum=1),
            Column("allowed_levels", "list", default=()),
            Column("growth", "number", minimum=-0.99),
            Column("min_coverage", "number", default=1.0, minimum=0, maximum=1,
                   meaning="least share of demand a commissioned service may cover; 1 = all or "
                           "nothing (formulations.shifting)"),
            Column("min_area_coverage", "number", default=0.0, minimum=0, maximum=1,
                   meaning="least share of each area's demand a commissioned service covers "
                           "(issue 17, formulations.areas)"),
        ),
        key=("service",),
    ),
    "providers": TableSpec(
        "providers",
        (
            Column("provider", "id", required=True, blank_ok=False),
            Column("name", "text", meaning=NAME_MEANING),
            Column("kind", "choice", required=True, blank_ok=False, choices=PROVIDER_KINDS),
            Column("min_income", "number", default=0.0, minimum=0, meaning="£ per year"),
            Column("entry_cost", "number", default=0.0, minimum=0, meaning="£ one-off"),
            Column("exit_cost", "number", default=0.0, minimum=0, meaning="£"),
            Column("incumbent", "bool", default=False),
            Column("total_capacity", "number", minimum=0, meaning="resource units per year"),
            Column("conflicted_levels", "list", default=()),
            Column("income_guarantee", "number", default=0.0, minimum=0,
                   meaning="£ per year paid at least while the provider is used"),
        ),
        key=("provider",),
    ),
    "offers": TableSpec(
        "offers",
        (
            Column("provider", "id", required=True, blank_ok=False),
            Column("service", "id", required=True, blank_ok=False),
            Column("capacity", "number", minimum=0, meaning="episodes per year; blank = unlimited"),
            Column("price", "number", minimum=0, meaning="£ per episode"),
            Column("quality", "number", required=True, blank_ok=False, minimum=0, maximum=1),
            Column("capacity_use", "number", default=1.0, minimum=0),
            Column("setup_cost", "number", default=0.0, minimum=0, meaning="£ per new contract"),
            Column("incumbent_volume", "number", default=0.0, minimum=0, meaning="episodes"),
            Column("payment", "choice", default="activity", choices=PAYMENT_FORMS,
                   meaning="activity (price × episodes) or block (block_price a year)"),
            Column("block_price", "number", minimum=0,
                   meaning="£ per year of a block contract, whatever the volume up to capacity"),
            Column("areas", "list", default=(),
                   meaning="areas of areas.csv the provider can serve; blank = all (issue 17)"),
        ),
        key=("provider", "service"),
    ),
    "level_effects": TableSpec(
        "level_effects",
        (
            Column("level", "id", required=True, blank_ok=False),
            Column("category", "text", required=True, blank_ok=False),
            Column("demand_factor", "number", required=True, blank_ok=False, strictly_positive=True),
        ),
        key=("level", "category"),
        optional=True,
    ),
    # Substitution and invest-to-save (issue 15, formulations.shifting): each episode of source
    # delivered in year t changes the demand of target in year t + lag by factor episodes.
    "effects": TableSpec(
        "effects",
        (
            Column("source", "id", required=True, blank_ok=False),
            Column("target", "id", required=True, blank_ok=False),
            Column("factor", "number", required=True, blank_ok=False, minimum=-1e6,
                   meaning="episodes of target per episode of source (negative = avoided)"),
            Column("lag", "integer", default=0, minimum=0, meaning="years"),
        ),
        key=("source", "target"),
        optional=True,
    ),
    "bundles": TableSpec(
        "bundles",
        (
            Column("bundle", "id", required=True, blank_ok=False),
            Column("provider", "id", required=True, blank_ok=False),
            Column("services", "list", required=True, blank_ok=False,
                   meaning="';'-separated services the bundle takes whole"),
            Column("price", "number", required=True, blank_ok=False, minimum=0,
                   meaning="£ per year (capitated)"),
            Column("quality", "number", required=True, blank_ok=False, minimum=0, maximum=1),
            Column("level", "id", required=True, blank_ok=False),
        ),
        key=("bundle",),
        optional=True,
    ),
    # Areas and fair shares (issue 17, formulations.areas): the localities of the population.
    "areas": TableSpec(
        "areas",
        (
            Column("area", "id", required=True, blank_ok=False),
            Column("name", "text", meaning=NAME_MEANING),
            Column("population", "number", required=True, blank_ok=False, strictly_positive=True,
                   meaning="people; the areas' populations sum to instance.yaml's population"),
            Column("need_index", "number", default=1.0, strictly_positive=True,
                   meaning="needs-weighted capitation index (1 = average need)"),
            Column("qaly_weight", "number", default=1.0, minimum=0,
                   meaning="equity weight on health gained in the area"),
            Column("indicative_budget", "number", minimum=0,
                   meaning="£ a year; blank = none (reported against, never a limit)"),
        ),
        key=("area",),
        optional=True,
    ),
    "area_demand": TableSpec(
        "area_demand",
        (
            Column("area", "id", required=True, blank_ok=False),
            Column("service", "id", required=True, blank_ok=False),
            Column("demand", "number", required=True, blank_ok=False, minimum=0,
                   meaning="episodes per year of the service's demand arising in the area"),
        ),
        key=("area", "service"),
        optional=True,
    ),
}

#: Tables that may be left out (an empty table then: no level effects, demand effects, bundles).
OPTIONAL_TABLES = tuple(name for name, spec in TABLES.items() if spec.optional)
