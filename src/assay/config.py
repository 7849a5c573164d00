"""Settings read from the environment. Nothing here is required: every value has a default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str
    datasets: Path

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("ASSAY_HOME", "assay-runs")).expanduser()
        store_url = os.environ.get("ASSAY_STORE") or f"sqlite:///{(home / 'assay.db').resolve()}"
        datasets = Path(os.environ.get("ASSAY_DATASETS", "../shared/datasets")).expanduser()
        return cls(home=home, store_url=store_url, datasets=datasets)


def settings() -> Settings:
    """Current settings (re-read each call so tests and users can change the environment)."""
    return Settings.from_env()
