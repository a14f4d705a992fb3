"""The structure of a mutable model, as a digest: whether a scenario can re-use a built model.

It lives in the solve layer because it reads the instance's whole policy (every key that is not
a parameter of the built model), which the formulation itself never reads.
"""

from __future__ import annotations

import hashlib
import json

from formulations.coefficients import VALUE_COLUMNS, VALUE_POLICY_KEYS
from planner.derive.tables import Derived


def structure_signature(derived: Derived) -> str:
    """What a mutable model's rows, variables and fixed numbers depend on, as a digest.

    Two derived instances with the same signature give models that differ only in the
    coefficient tables, the budget and the value of a QALY.
    """
    digest = hashlib.sha256()
    config = derived.instance.config
    policy = {k: v for k, v in config.policy.model_dump(mode="json").items()
              if k not in VALUE_POLICY_KEYS}
    policy["has_budget"] = config.policy.budget is not None
    # issue 16: block, bundle and guarantee £ are numbers × (1 + price_change)^t in the rows
    offers, providers = derived.offers, derived.providers
    if len(derived.bundles) or (offers["payment"] == "block").any() \
            or (providers["income_guarantee"] > 0).any():
        policy["payment_price_change"] = config.policy.price_change
    digest.update(json.dumps({"policy": policy, "years": list(derived.years),
                              "without": sorted(derived.without),
                              "capacity_in_big_m": derived.capacity_in_big_m,
                              "tighten": derived.tighten},
                             sort_keys=True, default=str).encode())
    for name, values in VALUE_COLUMNS.items():
        frame = getattr(derived, name)
        kept = frame[[c for c in frame.columns if c not in values]]
        digest.update(name.encode())
        digest.update(kept.to_csv(index=False).encode())
    if not derived.instance.effects.empty:  # effect bounds follow demand: values are structure
        digest.update(derived.instance.effects.to_csv(index=False).encode())
        digest.update(derived.services.to_csv(index=False).encode())
        digest.update(derived.service_levels.to_csv(index=False).encode())
    return digest.hexdigest()
