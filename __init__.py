"""Hillwalk: a desktop lab for loss functions, loss landscapes and optimizers (CS231n).

The repository's top-level folders are this package's parts, mapped at install time
(``pyproject.toml``: ``package-dir``): ``hillwalk.core`` is the NumPy library (no Qt),
``hillwalk.gui`` the PyQt6 app, ``hillwalk.resources`` the shipped data sets and presets,
``hillwalk.main`` the entry point of the app and the command line.

Importing ``hillwalk`` loads nothing but the standard library, so ``hillwalk.core`` stays
usable from a notebook without Qt.
"""


def __getattr__(name):
    """``hillwalk.__version__``, read from the installed distribution's metadata on first use:
    importing importlib.metadata costs tens of milliseconds that ``import hillwalk.core``
    should not pay."""
    if name != "__version__":
        raise AttributeError(f"module 'hillwalk' has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("hillwalk")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        version = "0+unknown"
    globals()["__version__"] = version
    return version
