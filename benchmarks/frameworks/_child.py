"""Runs one adapter in the current interpreter: python _child.py MODULE WORKDIR.

WORKDIR holds train.parquet, test.parquet (features only) and spec.json; the child writes
pred.npy and result.json there. Only numpy, pandas and pyarrow are needed besides the
framework itself."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def package_version(name: str | None) -> str:
    """The installed version of the framework's package, so a row says what it measured."""
    from importlib.metadata import PackageNotFoundError, version

    if name is None:
        return ""
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return f"{name} ?"


def main() -> None:
    module_name, workdir = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    spec = json.loads((workdir / "spec.json").read_text())
    train = pd.read_parquet(workdir / "train.parquet")
    test = pd.read_parquet(workdir / "test.parquet")
    adapter = importlib.import_module(module_name)
    result = adapter.fit_predict(train, test, spec)
    np.save(workdir / "pred.npy", np.asarray(result.pop("pred"), dtype=float))
    result["classes"] = [str(c) for c in result.get("classes") or []]
    result["version"] = package_version(getattr(adapter, "PACKAGE", None))
    if hasattr(adapter, "source_revision"):
        result["version"] += f"+{adapter.source_revision()}"
    (workdir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
