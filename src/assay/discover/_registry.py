"""The registry of discovered components: one JSON file per winner under
ASSAY_HOME/components/, named by the hypothesis id, so `activation="discovered:<id>"` in
assay's MLP finds it. The file carries the code itself, and a fitted model keeps a copy of
that code, so a saved predictor never depends on the registry being present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay._atomic import atomic_write_text
from assay.config import settings
from assay.discover._spec import Hypothesis, Kind
from assay.errors import ConfigError

PREFIX = "discovered:"


def registry_dir() -> Path:
    return settings().home / "components"


def save_component(hypothesis: Hypothesis, details: dict[str, Any]) -> Path:
    """Write (atomically) the component's code and how it was judged."""
    folder = registry_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hypothesis.id}.json"
    return atomic_write_text(path, json.dumps({**hypothesis.to_dict(), **details}, indent=1))


def load_component(ref: str, kind: Kind | str | None = None) -> Hypothesis:
    """The hypothesis behind "discovered:<id>" (or a bare id)."""
    key = ref.removeprefix(PREFIX)
    path = registry_dir() / f"{key}.json"
    if not key.isalnum() or not path.is_file():
        known = ", ".join(sorted(p.stem for p in registry_dir().glob("*.json"))) or "none yet"
        raise ConfigError(
            f"no discovered component {key!r} in {registry_dir()} (known: {known}); run "
            "`assay discover activation` or check ASSAY_HOME."
        )
    hypothesis = Hypothesis.from_dict(json.loads(path.read_text()))
    if kind is not None and hypothesis.kind is not Kind.parse(kind):
        raise ConfigError(
            f"component {key} is a {hypothesis.kind.value}, not a {Kind.parse(kind).value}."
        )
    return hypothesis


def list_components(kind: Kind | str | None = None) -> list[dict[str, Any]]:
    wanted = None if kind is None else Kind.parse(kind).value
    entries = [json.loads(p.read_text()) for p in sorted(registry_dir().glob("*.json"))]
    if wanted is not None:
        entries = [e for e in entries if e["kind"] == wanted]
    return sorted(entries, key=lambda e: -float(e.get("reward") or 0.0))
