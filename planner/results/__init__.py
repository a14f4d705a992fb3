"""Layer 3, results: the Plan (its tables), ``verify`` (every rule rechecked from the raw
tables) and the plan folder (``outdir``: where a plan may be written, whole or not at all).

It sits below ``solve`` because the solver fills a Plan; it needs only the data layer, so a plan
folder can be read back and checked without a model or a solver.
"""
