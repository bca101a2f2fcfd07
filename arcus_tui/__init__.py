"""arcus-tui: lay out, deploy and watch an ARCUS cache cloud from the gateway host."""

__version__ = "0.1.0"
