"""Screens: `main` (the numbered tabs) and the modal ones (`help`, ...)."""
