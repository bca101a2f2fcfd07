"""Widgets, one job per module: `host_grid` (the Grid's box per host), `setup_matrix`, `log_view`,
`zk_tree`, `monitor_tables`, `capacity_table`, and the shared `cell_table`, `empty_state` and
`steady_footer`."""
