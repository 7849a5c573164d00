"""The frozen harness: the split, the hidden labels, the metric, and the trusted scoring.

Nothing here is editable by an experiment. The harness folder (ASSAY_HOME/research/<id>,
root-only) holds the training rows, the validation features, and what no candidate may
read: the validation labels and the holdout. Candidates run in the sandbox with that folder
hidden; their predictions are scored here, after they are gone. The holdout is scored only
for reports (`holdout_score`), never for a keep-or-discard decision.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import OutcomeStatus, Task
from assay.errors import InvalidOutput, ResearchError
from assay.evaluate import get_metric
from assay.execute import Limits, Sandbox
from assay.log import get_logger
from assay.research._predictions import (
    OOF,
    PREDICTIONS,
    ROW,
    check_probabilities,
    paired_gain_se,
    read_predictions,
)
from assay.research._workspace import read_pointer
from assay.search import is_trial_list

logger = get_logger(__name__)

HARNESS_FILE = "harness.json"
TRIALS = "trials.json"  # outputs/ and inputs/: finished trials, for a search to continue
EXPORTED = "predictor"  # where a pipeline run with run.json "export" saves its predictor
N_FOLDS = 5  # the folds of the training rows every experiment shares (run.json "folds")


def experiment_label(exp_no: int) -> str:
    """The name of an experiment's log and kept predictions in the harness folder."""
    return f"exp-{exp_no:04d}"


def startup_slack_s(budget_s: float) -> float:
    """Time a run gets on top of its training budget: interpreter start, imports, I/O."""
    return max(15.0, 0.25 * budget_s)


@dataclass(frozen=True)
class RunResult:
    """One sandboxed run of a candidate, scored (or not) by the harness."""

    status: OutcomeStatus
    score: float | None
    wall_s: float
    peak_memory_mb: float
    reason: str
    log_tail: str  # the end of stderr (and stdout), for the ledger and for fix requests
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status is OutcomeStatus.OK and self.score is not None


def class_key(label: str) -> tuple:
    """Classes sort as numbers when they all are, else as text."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


class Harness:
    """The harness of one research workspace, loaded from its folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        path = self.folder / HARNESS_FILE
        if not path.is_file():
            raise ResearchError(
                f"no harness at {self.folder} ({HARNESS_FILE} missing): the research folder "
                "was moved or deleted; create a new workspace with `assay research init`"
            )
        spec = json.loads(path.read_text())
        self.spec = spec
        self.id: str = spec["research_id"]
        self.target: str = spec["target"]
        self.task = Task(spec["task"])
        self.metric = get_metric(spec["metric"], self.task)
        self.classes: list[str] = list(spec.get("classes") or [])
        self.budget_per_exp_s = float(spec["budget_per_exp_s"])
        self.seed = int(spec["seed"])
        self.workspace = Path(spec["workspace"])
        self._labels: dict[str, pd.Series] = {}

    @classmethod
    def for_workspace(cls, ws: str | Path) -> Harness:
        pointer = read_pointer(ws)
        harness = cls(pointer["harness"])
        if harness.id != pointer["research_id"] or harness.workspace != Path(ws).resolve():
            raise ResearchError(
                f"the harness at {harness.folder} belongs to the workspace {harness.workspace}, "
                f"not {Path(ws).resolve()}; create a new workspace with `assay research init`"
            )
        return harness

    @property
    def sandbox_root(self) -> Path:
        """Beside the harness folder, never inside it: that folder is hidden from runs.
        Experiments run under `experiments/`, holdout runs under `holdout/`."""
        return self.folder.parent / f"{self.id}.runs"

    def clear_experiment_runs(self) -> None:
        """Remove working copies a killed loop left behind (call with the run lock held)."""
        shutil.rmtree(self.sandbox_root / "experiments", ignore_errors=True)

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    # -- running a candidate ----------------------------------------------------------------
    def run(
        self,
        pipeline: str,
        *,
        seed: int | None = None,
        budget_s: float | None = None,
        label: str = "run",
        holdout: bool = False,
        export: Path | None = None,
    ) -> RunResult:
        """Run a pipeline text in a fresh sandbox and score it (validation rows, or the
        holdout when `holdout` is set). The checked predictions are kept under `label`
        (`predictions_of`). With `export`, run.json says so and the predictor the pipeline
        saves in outputs/predictor/ is moved there (a holdout run: trained on train +
        validation rows). Never raises for what the candidate does."""
        budget_s = self.budget_per_exp_s if budget_s is None else float(budget_s)
        seed = self.seed if seed is None else int(seed)
        root = self.sandbox_root / ("holdout" if holdout else "experiments")
        sandbox = Sandbox(root, Limits(time_s=budget_s + startup_slack_s(budget_s)))
        settings = {
            "time_limit_s": budget_s,
            "seed": seed,
            "target": self.target,
            "task": self.task.value,
            "metric": self.metric.name,
            "classes": self.classes,
            "export": export is not None,
        }
        with tempfile.TemporaryDirectory(dir=self.folder, prefix="inputs-") as staging:
            if holdout:
                data, labels = self._holdout_inputs(Path(staging))
                dtype = {self.target: str} if self.task.is_classification else None
                rows = pd.read_csv(data["train.csv"], dtype=dtype)
                settings["folds"] = self.fold_ids(rows[self.target])
            else:
                data = {n: self.folder / n for n in ("train.csv", "valid.csv")}
                labels = self.valid_labels()
                settings["folds"] = self.train_folds()
            inputs: dict[str, str | bytes | Path] = {
                **data,
                "run.json": json.dumps(settings),
            }
            prior = self.prior_path(self.predictions_of(label))
            if prior.is_file():  # the trials of the experiment this one continues
                inputs[TRIALS] = prior
            ws = sandbox.workspace(
                files={"pipeline.py": pipeline}, inputs=inputs, hidden=[self.folder]
            )
        try:
            keep = self.predictions_of(label)
            evaluate = self._scorer(labels, keep, export, with_oof=not holdout)
            outcome = sandbox.run_python("pipeline.py", ws, evaluate=evaluate)
        finally:
            shutil.rmtree(ws.root, ignore_errors=True)
        log = (outcome.stdout[-4000:] + "\n" + outcome.stderr[-8000:]).strip()
        self.logs.mkdir(exist_ok=True)
        log_path = self.logs / f"{label}.log"
        log_path.write_text(f"status: {outcome.status.value} ({outcome.reason})\n\n{log}\n")
        score = outcome.metrics.get("score") if outcome.ok else None
        return RunResult(
            status=outcome.status,
            score=None if score is None else float(score),
            wall_s=outcome.wall_s,
            peak_memory_mb=outcome.peak_memory_mb,
            reason=outcome.reason,
            log_tail=log[-3000:],
            log_path=log_path,
        )

    def holdout_score(
        self, pipeline: str, seed: int | None = None, label: str | None = None
    ) -> float:
        """Train on train + validation rows (labels included), score on the holdout. For
        reporting only: the loop never decides anything from it. The holdout predictions
        are kept under `label` (`predictions_of`) when given."""
        label = label or f"holdout-{int(time.time())}"
        result = self.run(pipeline, seed=seed, label=label, holdout=True)
        if not result.ok or result.score is None:
            raise ResearchError(
                f"the holdout run ended {result.status.value} ({result.reason}); "
                f"log: {result.log_path}"
            )
        return float(result.score)

    def _holdout_inputs(self, staging: Path) -> tuple[dict[str, Path], pd.Series]:
        """train + validation rows (with labels) to train on, the holdout's features to
        predict; every cell copied as written, so the candidate reads what it always reads."""
        raw = {
            name: pd.read_csv(self.folder / name, dtype=str, keep_default_na=False)
            for name in ("train.csv", "valid.csv", "valid_labels.csv", "holdout.csv")
        }
        valid = raw["valid.csv"].merge(raw["valid_labels.csv"], on=ROW, validate="one_to_one")
        train = pd.concat([raw["train.csv"], valid.drop(columns=[ROW])], ignore_index=True)
        train.to_csv(staging / "train.csv", index=False)
        raw["holdout.csv"].drop(columns=[self.target]).to_csv(staging / "valid.csv", index=False)
        labels = self.holdout_labels()
        return {"train.csv": staging / "train.csv", "valid.csv": staging / "valid.csv"}, labels

    def _read_labelled(self, name: str) -> pd.DataFrame:
        """A file with the target, the target read exactly as written (class names)."""
        dtype = {self.target: str} if self.task.is_classification else None
        return pd.read_csv(self.folder / name, dtype=dtype)

    def feature_columns(self) -> list[str]:
        """The columns of the training table other than the target."""
        header = pd.read_csv(self.folder / "train.csv", nrows=0).columns
        return [str(c) for c in header if c != self.target]

    def train_labels(self) -> pd.Series:
        """The target of the training rows, as written (class names for classification)."""
        if "train" not in self._labels:
            self._labels["train"] = self._read_labelled("train.csv")[self.target]
        return self._labels["train"]

    def train_folds(self) -> list[int]:
        """The fold of every training row, fixed by the harness seed."""
        return self.fold_ids(self.train_labels())

    def fold_ids(self, labels: pd.Series) -> list[int]:
        """Fold numbers (0..N_FOLDS-1) for rows with these labels: stratified by class for
        classification, the same for the same labels and seed."""
        from assay.evaluate import make_folds

        y = self.encoded(labels.astype(str)) if self.task.is_classification else labels
        ids = np.zeros(len(labels), dtype=int)
        for k, (_, held) in enumerate(make_folds(np.asarray(y), self.task, N_FOLDS, self.seed)):
            ids[held] = k
        return ids.tolist()

    def holdout_labels(self) -> pd.Series:
        """The holdout's target by row id: for scoring holdout runs, never for a decision."""
        if "holdout" not in self._labels:
            frame = self._read_labelled("holdout.csv")
            self._labels["holdout"] = frame.set_index(ROW)[self.target]
        return self._labels["holdout"]

    def valid_labels(self) -> pd.Series:
        if "valid" not in self._labels:
            frame = self._read_labelled("valid_labels.csv")
            self._labels["valid"] = frame.set_index(ROW)[self.target]
        return self._labels["valid"]

    # -- scoring ----------------------------------------------------------------------------
    def evaluate(self, outputs: Path) -> dict[str, float]:
        """Score outputs/predictions.csv against the validation labels (the sandbox's
        trusted evaluator); InvalidOutput says what is wrong with the file."""
        return self._scorer(self.valid_labels())(outputs)

    def _scorer(
        self,
        labels: pd.Series,
        keep: Path | None = None,
        export: Path | None = None,
        *,
        with_oof: bool = True,
    ) -> Callable[[Path], dict[str, float]]:
        """The trusted evaluator; `keep` saves the checked predictions (aligned with the
        labels) for paired comparisons between candidates and for ensembles; `export`
        receives the predictor the pipeline saved."""

        def evaluate(outputs: Path) -> dict[str, float]:
            values = self._read_values(Path(outputs) / PREDICTIONS, labels.index, "valid.csv")
            score = self.metric(self.encoded(labels), values)
            if not math.isfinite(score):
                raise InvalidOutput(f"the {self.metric.name} of these predictions is not finite")
            if export is not None:
                saved = Path(outputs) / EXPORTED
                if not (saved / "manifest.json").is_file():
                    raise InvalidOutput(
                        f"run.json asked for the predictor, but the pipeline saved none in "
                        f"outputs/{EXPORTED}/ (the template saves AutoML's predictor there)"
                    )
                shutil.rmtree(export, ignore_errors=True)
                shutil.move(str(saved), export)
            if keep is not None:
                keep.parent.mkdir(exist_ok=True)
                np.save(keep, values)
                trials = Path(outputs) / TRIALS
                if with_oof and trials.is_file():  # optional: for a search to continue
                    self._keep_trials(trials, self.trials_path(keep))
                if with_oof and (Path(outputs) / OOF).is_file():  # for ensembles of experiments
                    rows = pd.RangeIndex(self.spec["n_rows"]["train"])
                    oof = self._read_values(Path(outputs) / OOF, rows, "train.csv")
                    np.save(self.oof_path(keep), oof)
            return {"score": float(score), self.metric.name: float(score)}

        return evaluate

    def _read_values(self, path: Path, rows: pd.Index, table: str) -> np.ndarray:
        """A checked predictions file as the metric takes it, rows in `rows` order:
        probabilities renormalized per row, or values."""
        pred = read_predictions(path, rows, self._columns(), table).loc[rows]
        if self.task.is_classification:
            proba = pred[[f"proba_{c}" for c in self.classes]].to_numpy()
            check_probabilities(proba)
            return proba / proba.sum(axis=1, keepdims=True)
        return pred["prediction"].to_numpy()

    @staticmethod
    def _keep_trials(source: Path, target: Path) -> None:
        """A run's finished trials, kept when they are a list of {model, config, loss}."""
        try:
            trials = json.loads(source.read_text())
            ok = is_trial_list(trials)
        except (OSError, ValueError):
            ok = False
        if ok:
            target.write_text(json.dumps(trials))
        else:
            logger.warning("outputs/%s is not a list of {model, config, loss}: ignored", TRIALS)

    @staticmethod
    def trials_path(predictions: Path) -> Path:
        """Where a run's finished trials (outputs/trials.json) are kept."""
        return predictions.with_name(predictions.stem + "-trials.json")

    @staticmethod
    def prior_path(predictions: Path) -> Path:
        """The trials a run is given as inputs/trials.json (the experiment it continues),
        when this file exists before the run."""
        return predictions.with_name(predictions.stem + "-prior.json")

    @staticmethod
    def oof_path(predictions: Path) -> Path:
        """Where the out-of-fold predictions of the training rows are kept beside a run's
        validation predictions."""
        return predictions.with_name(predictions.stem + "-oof.npy")

    def encoded(self, labels: pd.Series) -> np.ndarray:
        """Labels as the scorer sees them: class numbers in `classes` order, or floats."""
        if self.task.is_classification:
            return labels.map({c: i for i, c in enumerate(self.classes)}).to_numpy()
        return labels.to_numpy(dtype=float)

    def predictions_of(self, label: str) -> Path:
        """Where a validation run's checked predictions are kept."""
        return self.folder / "predictions" / f"{label}.npy"

    def paired_gain_se(self, new: Path, best: Path | None) -> float:
        """The bootstrap standard error of the gain between two kept prediction sets on the
        validation rows (0 when either is missing)."""
        if best is None or not (new.is_file() and best.is_file()):
            return 0.0
        y = self.encoded(self.valid_labels())
        return paired_gain_se(self.metric, y, np.load(new), np.load(best), self.seed)

    def _columns(self) -> list[str]:
        if self.task.is_classification:
            return [f"proba_{c}" for c in self.classes]
        return ["prediction"]
