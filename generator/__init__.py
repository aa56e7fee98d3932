"""Provenant generator component (see DESIGN.md)."""
