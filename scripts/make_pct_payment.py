"""Write instances/pct_payment: the pct instance with one example of each payment form (issue 16).

Deterministic, no network: it copies instances/pct and makes the edits its README explains:
district nursing from the community FT as a block contract, an income guarantee for an incumbent
GP practice, an integrated diabetes bundle held by the GP federation, and a 1.5 % quality
withhold. Run from the repository root:

    python scripts/make_pct_payment.py
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE, TARGET = ROOT / "instances" / "pct", ROOT / "instances" / "pct_payment"
BLOCK = ("wirral_community_ft", "district_nursing")
BLOCK_DISCOUNT = 0.97  # the block's price against the status quo bought by activity
GUARANTEED = ("gp_N85002", 1_285_000)  # £: its status-quo income, 18,505 lists × £69.44
BUNDLE = {"bundle": "diabetes_integrated", "provider": "gp_federation",
          "services": "diabetes_specialist_care;diabetes_admissions", "price": 1_090_000,
          "quality": 0.8, "level": "pct"}
WITHHOLD = 0.015


def _rewrite(path: Path, extra: list[str], edit) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0]) + extra
    for row in rows:
        row.update({name: "" for name in extra})
        edit(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _block(row: dict) -> None:
    if (row["provider"], row["service"]) == BLOCK:
        volume = float(row["incumbent_volume"])
        row.update(payment="block", capacity=row["incumbent_volume"], price="",
                   block_price=str(round(BLOCK_DISCOUNT * volume * float(row["price"]), -3)))


def _guarantee(row: dict) -> None:
    if row["provider"] == GUARANTEED[0]:
        row["income_guarantee"] = str(GUARANTEED[1])


def main() -> None:
    TARGET.mkdir(exist_ok=True)
    for name in ("instance.yaml", "level_effects.csv", "levels.csv", "offers.csv",
                 "providers.csv", "services.csv"):
        shutil.copyfile(SOURCE / name, TARGET / name)
    _rewrite(TARGET / "offers.csv", ["payment", "block_price"], _block)
    _rewrite(TARGET / "providers.csv", ["income_guarantee"], _guarantee)
    with (TARGET / "bundles.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(BUNDLE), lineterminator="\n")
        writer.writeheader()
        writer.writerow(BUNDLE)
    config = (TARGET / "instance.yaml").read_text(encoding="utf-8")
    config = config.replace("name: pct\n", "name: pct_payment\n", 1).replace(
        "  break_even: annual\n", f"  break_even: annual\n  quality_withhold: {WITHHOLD}\n", 1)
    (TARGET / "instance.yaml").write_text(config, encoding="utf-8")


if __name__ == "__main__":
    main()
