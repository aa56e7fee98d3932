"""Provenant core: media I/O, C2PA content credentials, the manifest store, and the CLI."""

__version__ = "0.1.0"

__all__ = ["__version__"]
