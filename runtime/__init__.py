"""demo-runtime: a small container runtime built from separation plugins."""

__version__ = "0.1.0"
