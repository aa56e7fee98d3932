"""Provenant api component (see DESIGN.md)."""
