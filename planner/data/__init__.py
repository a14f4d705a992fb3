"""Layer 1, data: the contract's tables and instance.yaml read, checked and held as an Instance.

``schema`` declares every table and column; ``tables`` parses CSV text; ``checks`` checks
tables against each other; ``config`` reads and validates instance.yaml; ``workbook`` reads the
same tables from one .xlsx (guarded by ``xlsx_guard``) and ``workbook_writer`` writes them;
``instance`` holds the validated Instance; ``names`` turns ids into the names a board reads.
Nothing here knows about models, solvers or plans.
"""
