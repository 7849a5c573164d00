"""The version, in one place: pyproject.toml reads it at build time and `assay.__version__`
re-exports it, so modules that only need the version import this instead of `assay`."""

__version__ = "0.1.0"
