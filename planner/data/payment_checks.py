"""Validation of how care is paid for (issue 16): block offers, capitated bundles, guarantees.

Called from :func:`planner.checks.check_tables` with the typed tables, so every problem is
reported with the others, naming table, row and column, before anything is modelled. The rules
are those a contract manager would apply to the documents:

* a block offer (``payment: block``) states its ``block_price`` (£ a year) and its ``capacity``
  (the episodes the block buys): a block without a ceiling would be an open-ended commitment;
* ``block_price`` on an activity offer is a contradiction (which one is meant?);
* a bundle names a known provider and level and known services, each once;
* a bundled service is taken whole by one provider, so it cannot also require patient choice
  (``min_providers`` > 1) or contracted headroom (``choice_headroom`` > 0): the bundle would
  never be allowed, and saying so is kinder than ignoring the line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import Problem


def payment_problems(tables: dict[str, pd.DataFrame], from_file: bool) -> list[Problem]:
    """Every problem with the payment columns of offers and with bundles.csv."""
    from planner.data.references import _bad, _line, _unknown

    problems: list[Problem] = []
    offers = tables["offers"]
    if "payment" in offers and "block_price" in offers:
        block = (offers["payment"] == "block").to_numpy()
        for column, missing, what in (("block_price", offers["block_price"].isna(), "£ a year"),
                                      ("capacity", offers["capacity"].isna(), "episodes a year")):
            flags = block & missing.to_numpy() & ~_bad(offers, column)
            for position in np.flatnonzero(flags):
                row = offers.iloc[position]
                problems.append(Problem(
                    "offers", f"block offer {row['provider']}/{row['service']} has no {column}.",
                    f"Give {column} ({what}) for the block, or make payment activity.",
                    row=f"{row['provider']}/{row['service']}",
                    line=_line(offers, position, from_file), column=column))
        stray = ~block & offers["block_price"].notna().to_numpy()
        for position in np.flatnonzero(stray):
            row = offers.iloc[position]
            problems.append(Problem(
                "offers", f"block_price {row['block_price']:g} on an offer paid by activity.",
                "Set payment to block, or leave block_price blank.",
                row=f"{row['provider']}/{row['service']}",
                line=_line(offers, position, from_file), column="block_price"))
    bundles = tables.get("bundles")
    if bundles is None or not len(bundles):
        return problems
    levels = set(tables["levels"]["level"])
    providers = set(tables["providers"]["provider"])
    services = tables["services"].drop_duplicates("service").set_index("service")
    problems += _unknown(bundles, "bundles", "provider", providers, "provider", from_file)
    problems += _unknown(bundles, "bundles", "level", levels, "level", from_file)
    problems += _unknown(bundles, "bundles", "services", set(services.index), "service",
                         from_file, is_list=True)
    for position, row in enumerate(bundles.itertuples(index=False)):
        where = {"row": row.bundle, "line": _line(bundles, position, from_file),
                 "column": "services"}
        listed = list(row.services)
        repeated = sorted({s for s in listed if listed.count(s) > 1})
        if repeated:
            problems.append(Problem("bundles", f"lists {', '.join(repeated)} more than once.",
                                    "Name each service once.", **where))
        for service in dict.fromkeys(listed):
            if service not in services.index:
                continue  # reported as unknown
            if services.at[service, "min_providers"] > 1:
                problems.append(Problem(
                    "bundles", f"bundles {service}, which needs min_providers "
                    f"{services.at[service, 'min_providers']:g}: a bundle's provider takes the "
                    "whole demand, so the service would have one provider.",
                    f"Drop {service} from the bundle, or set its min_providers to 1.", **where))
            if services.at[service, "choice_headroom"] > 0:
                problems.append(Problem(
                    "bundles", f"bundles {service}, which needs choice_headroom "
                    f"{services.at[service, 'choice_headroom']:g}: a capitated provider holds "
                    "the whole demand and its risk, with no contracted spare capacity.",
                    f"Drop {service} from the bundle, or set its choice_headroom to 0.",
                    **where))
    return problems
