"""demo-runtime: a small container runtime built from separation plugins."""

__version__ = "0.1.0"


def __getattr__(name):
    """runtime.run, runtime.Container, runtime.Image, runtime.Result: the Python API (runtime/api.py),
    imported on first use only, so the command line's start does not pay for it."""
    if name in ("run", "Container", "Image", "Result"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
