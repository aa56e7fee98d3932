"""Provenant detector component (see DESIGN.md)."""
