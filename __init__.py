"""Hillwalk: a desktop lab for loss functions, loss landscapes and optimizers (CS231n).

The repository's top-level folders are this package's parts, mapped at install time
(``pyproject.toml``: ``package-dir``): ``hillwalk.core`` is the NumPy library (no Qt),
``hillwalk.gui`` the PyQt6 app, ``hillwalk.resources`` the shipped data sets and presets,
``hillwalk.main`` the entry point of the app and the command line.

Importing ``hillwalk`` loads nothing but the standard library, so ``hillwalk.core`` stays
usable from a notebook without Qt.
"""
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("hillwalk")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
