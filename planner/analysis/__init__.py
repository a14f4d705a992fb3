"""Layer 5, analysis: questions asked of a solved model or plan — why infeasible (``diagnosis``),
what a rule costs (``marginal``), why not that (``explain``), near-optimal ``alternatives``, what
changes against today (``compare``), spend against QALYs (``pareto``) and why optional services
were not bought (``unfunded``)."""
