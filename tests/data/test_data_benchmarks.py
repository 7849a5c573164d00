"""The 20 benchmark tables load unaided, with the manifest's shape and task."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay import Task
from assay.config import settings
from assay.data import BenchmarkSpec, benchmark_datasets, load_benchmark, prepare
from assay.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
# Integer scores 3..8 look like classes to infer_task; the benchmark passes task explicitly.
INFERRED_DIFFERENTLY = {"wine-quality-red": Task.MULTICLASS, "wine-quality-white": Task.MULTICLASS}


def datasets_root() -> Path:
    root = settings().datasets
    return root if root.is_absolute() else REPO_ROOT / root


ROOT = datasets_root()
SPECS = benchmark_datasets(ROOT) if (ROOT / "manifest.json").is_file() else []


@pytest.fixture
def root(monkeypatch) -> Path:
    if not (ROOT / "manifest.json").is_file():
        pytest.skip(f"benchmark datasets not found at {ROOT}; set ASSAY_DATASETS to run these")
    monkeypatch.setenv("ASSAY_DATASETS", str(ROOT))
    return ROOT


def test_manifest_lists_twenty_tabular_datasets(root):
    specs = benchmark_datasets()
    assert len(specs) == 20
    assert all(isinstance(s, BenchmarkSpec) and s.path.is_file() for s in specs)
    wine = next(s for s in specs if s.name == "wine-quality-red")
    assert wine.target == "11" and wine.task is Task.REGRESSION and wine.metric == "rmse"


@pytest.mark.parametrize("name", [s.name for s in SPECS] or ["(no datasets)"])
def test_benchmark_loads_with_manifest_shape_and_task(root, name):
    frame, spec = load_benchmark(name)
    assert frame.shape == (spec.rows, spec.features + 1), spec.path
    assert spec.target in frame.columns
    inferred = prepare(frame, spec.target)
    assert inferred.task is INFERRED_DIFFERENTLY.get(name, spec.task)
    assert len(inferred.y) == spec.rows and inferred.n_dropped_rows == 0
    explicit = prepare(frame, spec.target, task=spec.task)
    assert explicit.task is spec.task
    assert 0 < explicit.n_features <= spec.features


def test_question_marks_are_missing_in_credit_approval(root):
    frame, _ = load_benchmark("credit-approval")
    assert frame.isna().sum().sum() > 0
    assert not (frame.astype(str) == "?").any().any()


def test_single_quotes_are_stripped_in_credit_g(root):
    frame, _ = load_benchmark("credit-g")
    assert "<0" in set(frame["checking_status"])
    assert not frame["purpose"].astype(str).str.startswith("'").any()


def test_unknown_benchmark_name_suggests(root):
    with pytest.raises(DataError, match=r"'credit-gg'.*credit-g"):
        load_benchmark("credit-gg")


def test_missing_datasets_folder_says_to_set_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_DATASETS", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"nowhere.*ASSAY_DATASETS"):
        benchmark_datasets()
