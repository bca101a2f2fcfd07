"""Widgets, one job per module: `host_grid` (one box per host), `placeholder`."""
