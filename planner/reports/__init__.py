"""Layer 6, reports: the plan's facts (``facts``: one statistics layer over a plan folder's files)
and the views that only format them — ``html`` report.html (with ``html_parts`` and
``html_sections*``), ``markdown`` summary.md, ``xlsx`` plan.xlsx, ``charts`` figures; ``writer``
writes the three. ``summary`` re-exports the names of the module the facts came from."""
