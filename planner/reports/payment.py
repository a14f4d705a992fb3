"""The report's section on how care is paid for (issue 16), from the plan folder's files only.

A board asks of an integrated-care bundle: is paying one provider a capitated budget for these
services cheaper than buying them one contract at a time, and what does the plan pay for them?
The section answers that for each bundled service group (from the plan's bundles.csv), splits
spend by payment form (plan.json totals) and shows the providers paid by block, bundle or
guarantee (providers.csv). It appears only when the plan has a bundle, a block or a guarantee.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from planner.data.names import plain_name
from planner.formats import is_missing, pounds


def has_payments(files) -> bool:
    """True when the plan's instance offered a bundle, or the plan pays a block or guarantee."""
    totals = files.plan.get("totals") or {}
    paid = any((totals.get(k) or 0) > 0 for k in ("block_spend", "bundle_spend",
                                                   "guarantee_payments"))
    return files.has_plan and (paid or len(files.table("bundles")) > 0)


def _verdict(row) -> str:
    """One sentence comparing the chosen form with the alternative for a bundle's services."""
    own = float(row.price) + float(row.transaction_cost)
    alone = row.contract_cost
    services = str(row.services).replace(";", ", ")
    if not is_missing(row.reason) and str(row.reason):
        return f"{row.bundle} ({services}) could not be chosen: {row.reason}."
    if is_missing(alone):
        compare = "the offers at that level cannot meet the demand one contract at a time"
    else:
        gap = float(alone) - own
        compare = (f"contract by contract they would cost {pounds(alone)} including the risk "
                   f"charge the bundle's provider bears, {pounds(abs(gap))} "
                   + ("more" if gap >= 0 else "less"))
    chosen = "chosen" if bool(row.chosen) else "not chosen"
    return (f"{row.bundle} ({services}), {chosen}: {pounds(own)} a year as a bundle "
            f"(price and one contract per unit); {compare}; the plan pays "
            f"{pounds(row.plan_cost)} for them.")


def payment_section(files) -> str:
    """HTML of the section (see module)."""
    from planner.reports.html_parts import Col, html_table

    totals = files.plan.get("totals") or {}
    parts = [("activity", totals.get("activity_spend")), ("blocks", totals.get("block_spend")),
             ("bundles", totals.get("bundle_spend")),
             ("income guarantees", totals.get("guarantee_payments"))]
    split = "; ".join(f"{name} {pounds(value)}" for name, value in parts if value is not None)
    intro = ("Care is paid for by activity (price × episodes, less any quality withhold not "
             "earned back), by block (a fixed price a year up to a capacity), by capitated bundle "
             "(one provider takes the whole demand of a group of services and its risk), and "
             "income guarantees top up a used provider to its guaranteed income. Over the plan: "
             + split + ".")
    out = [f"<p>{escape(intro)}</p>"]
    bundles = files.table("bundles")
    if len(bundles):  # names a board reads, not ids (the bundle's own id is the user's name)
        names = files.names
        bundles = names.label(bundles)
        bundles["bundle"] = bundles["bundle"].map(plain_name)  # 'diabetes_integrated' → words
        bundles["services"] = [";".join(names.service(s) for s in str(v).split(";"))
                               for v in bundles["services"]]
        items = "".join(f"<li>{escape(_verdict(r))}</li>" for r in bundles.itertuples(index=False))
        out.append(f"<h3>Bundled service groups</h3><ul>{items}</ul>")
        columns = [Col("bundle", "bundle", words=True), Col("provider", "provider"),
                   Col("level", "level"),
                   Col("services", "services", lambda v: str(v).replace(";", ", "), wide=True),
                   Col("chosen", "chosen?", lambda v: "yes" if bool(v) else "no"),
                   Col("price", "bundle price", pounds, True),
                   Col("contract_cost", "contract by contract", pounds, True),
                   Col("plan_cost", "plan pays", pounds, True)]
        out.append(html_table(bundles, columns, more="bundles.csv"))
    providers = files.table("providers")
    if len(providers) and "guarantee_paid" in providers:
        first = providers.loc[providers["year"] == providers["year"].min()]
        mine = first.loc[(first[["block_income", "bundle_income", "guarantee_paid"]] > 0)
                         .any(axis=1)]
        if len(mine):
            columns = [Col("provider", "provider"),
                       Col("activity_income", "activity", pounds, True),
                       Col("block_income", "blocks", pounds, True),
                       Col("bundle_income", "bundles", pounds, True),
                       Col("guarantee_paid", "guarantee top-up", pounds, True)]
            out.append("<h3>Providers paid other than by activity</h3>"
                       + html_table(files.names.label(pd.DataFrame(mine)), columns,
                                    more="providers.csv"))
    return "".join(out)
