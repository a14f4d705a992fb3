"""Pyomo formulations of the commissioning model: pure functions of derived data."""
