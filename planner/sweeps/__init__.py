"""Layer 7, sweeps: scenario files (``scenarios``), the runner with its workers and Dask
(``runner``), warm starts from neighbouring scenarios (``neighbours``) and the resumable store
(``store``). ``planner.sweep`` is :func:`planner.sweeps.runner.sweep`."""

from planner.sweeps.runner import Terminated, sweep

__all__ = ["Terminated", "sweep"]
