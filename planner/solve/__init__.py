"""Layer 4, solving: the one HiGHS adapter, the persistent session, and extraction into a Plan.

``highs`` wraps ``pyomo.contrib.solver``'s persistent ``highs`` (options, statuses, copying
results out at once); ``session`` keeps one built model and re-solves it; ``extract`` turns the
solver's values into the Plan's tables; ``fixed_lp`` fixes every integer for marginal values.
"""
