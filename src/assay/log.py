"""Logging: the library logs through `logging`; only the CLI prints."""

from __future__ import annotations

import logging

_ROOT = "assay"


def get_logger(name: str) -> logging.Logger:
    """Logger under the `assay` namespace (pass `__name__`)."""
    if not name.startswith(_ROOT):
        name = f"{_ROOT}.{name}"
    return logging.getLogger(name)


def set_verbosity(level: int | str) -> None:
    """Route assay's logs to stderr at `level` (e.g. logging.INFO or "DEBUG")."""
    logger = logging.getLogger(_ROOT)
    logger.setLevel(level)
    if not any(getattr(h, "_assay", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._assay = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
