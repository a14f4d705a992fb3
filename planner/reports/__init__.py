"""Layer 6, reports: the plan's facts (``summary``, ``decisions``) and the views that only format
them — ``markdown`` summary.md, ``html`` report.html, ``xlsx`` plan.xlsx, ``charts`` figures."""
