"""The Textual UI: app, screens, widgets, themes. The only layer that imports Textual.

`arcus_tui.ui.app.run_app` is the entry `cli.py` calls; nothing here talks to SSH
or ZooKeeper itself, it shows what the engine below reports.
"""
