"""What a research workspace has found: the ledger, the best so far, the noise floor, the
hidden holdout scores of the baseline and the best, and a progress chart.

Holdout scores are computed on request (one sandboxed run each, on train + validation rows)
and cached per commit and seed in the harness folder; they are for people to read, and the
loop never sees them.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from assay.errors import ResearchError
from assay.log import get_logger
from assay.research._ensemble import (
    ExperimentEnsemble,
    choose_ensemble,
    pooled_predictions,
    predictions_label,
)
from assay.research._harness import Harness, experiment_label
from assay.research._ledger import MIN_SE, ExperimentStatus, Ledger, noise_floor, score_of
from assay.research._workspace import Repo
from assay.store._experiments import ExperimentRecord

logger = get_logger(__name__)

HOLDOUT_CACHE = "holdout.json"
PROGRESS_PNG = "progress.png"


@dataclass(frozen=True)
class ResearchStatus:
    harness: Harness
    records: list[ExperimentRecord]
    baseline: ExperimentRecord | None
    best: ExperimentRecord | None  # the line whose commit the branch is on
    noise_floor: float | None

    @property
    def ensemble_line(self) -> ExperimentRecord | None:
        """The last ensemble-of-experiments line of the ledger, if any."""
        lines = [r for r in self.records if r.status == ExperimentStatus.ENSEMBLE]
        return lines[-1] if lines else None

    def record(self, exp_no: int) -> ExperimentRecord:
        found = [r for r in self.records if r.exp_no == exp_no]
        if not found:
            raise ResearchError(f"experiment {exp_no} is not in the ledger (results.tsv)")
        return found[-1]

    @property
    def gain(self) -> float | None:
        """Validation gain of the best over the baseline, positive when better."""
        if self.baseline is None or self.best is None:
            return None
        loss = self.harness.metric.loss
        return loss(score_of(self.baseline)) - loss(score_of(self.best))


@dataclass(frozen=True)
class HoldoutRow:
    label: str  # "baseline", "best" or "ensemble"
    exp_no: int
    commit: str  # "" for the ensemble
    valid_score: float
    holdout_score: float


def research_status(ws: str | Path) -> ResearchStatus:
    harness = Harness.for_workspace(ws)
    records = Ledger(ws, harness.id, store=False).read()
    baseline = next((r for r in records if r.status == ExperimentStatus.BASELINE), None)
    kept = [r for r in records if ExperimentStatus(r.status).is_best]
    noise = None
    if baseline is not None:
        noise = noise_floor(baseline.seed_scores or (score_of(baseline),))
    return ResearchStatus(harness, records, baseline, kept[-1] if kept else None, noise)


def holdout_scores(status: ResearchStatus, ws: str | Path) -> list[HoldoutRow]:
    """Holdout scores of the baseline, the best (one row when they are the same) and,
    when the loop has one, the ensemble of experiments (its members' holdout predictions
    with the weights chosen out of fold)."""
    if status.baseline is None or status.best is None:
        return []
    book = HoldoutBook(status.harness, Repo(ws))
    rows = []
    pairs = [("baseline", status.baseline), ("best", status.best)]
    for label, record in pairs[: 1 if status.best.exp_no == status.baseline.exp_no else 2]:
        score, _ = book.run(record)
        rows.append(HoldoutRow(label, record.exp_no, record.commit or "", score_of(record), score))
    line, chosen = status.ensemble_line, current_ensemble(status)
    if chosen is not None and line is not None:
        paths = {m.key: book.run(status.record(m.exp_no), m.seed)[1] for m in chosen.members}
        score = book.score(chosen.predict(paths))
        rows.append(HoldoutRow("ensemble", line.exp_no, "", score_of(line), score))
    return rows


@dataclass(frozen=True)
class Answer:
    which: str  # "ensemble" or "best"
    why: str


def research_answer(status: ResearchStatus, min_se: float = MIN_SE) -> Answer:
    """What research delivers when asked for its answer: the ensemble of experiments when
    the loop has one, unless the best experiment scores better on validation by more than
    `min_se` paired bootstrap errors. The best's validation score is the highest of many
    tried on the same rows, so it flatters the best; the ensemble's weights were chosen out
    of fold, without the validation labels, so its score does not flatter it."""
    line, best = status.ensemble_line, status.best
    if best is None:
        raise ResearchError("no experiments yet: run `assay research run WS` first")
    if line is None or current_ensemble(status) is None:
        return Answer("best", "no ensemble of experiments yet")
    harness = status.harness
    loss = harness.metric.loss
    gain = loss(score_of(line)) - loss(score_of(best))  # > 0: the best scores better
    if gain <= 0:
        return Answer("ensemble", "it scores at least as well as the best on validation")
    se = harness.paired_gain_se(
        harness.predictions_of(predictions_label(best, harness.seed)),
        harness.predictions_of(experiment_label(line.exp_no)),
    )
    if se > 0 and gain > min_se * se:
        return Answer("best", f"it beats the ensemble by {gain / se:.1f} bootstrap errors")
    size = f"{gain / se:.1f} bootstrap errors" if se > 0 else "an unmeasured margin"
    return Answer(
        "ensemble",
        f"the best's lead on validation ({size}) is within what picking the best of many "
        "experiments on the same rows gives by luck",
    )


def current_ensemble(status: ResearchStatus) -> ExperimentEnsemble | None:
    """The ensemble of experiments as the loop would choose it now (out of fold)."""
    return choose_ensemble(status.harness, pooled_predictions(status.harness, status.records))


class HoldoutBook:
    """Holdout runs of experiments, each once per commit and seed: the score cached in
    the harness folder (holdout.json), the predictions kept beside the others."""

    def __init__(self, harness: Harness, repo: Repo):
        self.harness, self.repo = harness, repo
        self.path = harness.folder / HOLDOUT_CACHE
        self.cache = json.loads(self.path.read_text()) if self.path.exists() else {}

    def label(self, commit: str, seed: int | None = None) -> str:
        return f"holdout-{commit[:12]}-seed{self._seed(seed)}"

    def _seed(self, seed: int | None) -> int:
        return self.harness.seed if seed is None else int(seed)

    def prepare(self, record: ExperimentRecord, seed: int | None = None) -> str:
        """The label of the record's holdout run (at `seed`, None: the harness seed), given
        the trials its experiment run continued from (so the holdout run continues the
        same search)."""
        label = self.label(record.commit or "", seed)
        given = self.harness.prior_path(
            self.harness.predictions_of(experiment_label(record.exp_no))
        )
        if given.is_file():
            shutil.copyfile(given, self.harness.prior_path(self.harness.predictions_of(label)))
        return label

    def run(self, record: ExperimentRecord, seed: int | None = None) -> tuple[float, Path]:
        """The experiment's holdout score and predictions file (at `seed`, None: the
        harness seed), run when missing."""
        commit = record.commit
        if commit is None:
            raise ResearchError(f"experiment {record.exp_no} has no commit in results.tsv")
        key, label = self.key(commit, seed), self.prepare(record, seed)
        path = self.harness.predictions_of(label)
        if key not in self.cache or not path.is_file():
            logger.info("scoring experiment %d on the holdout", record.exp_no)
            pipeline = self.repo.show(commit)
            score = self.harness.holdout_score(pipeline, seed=self._seed(seed), label=label)
            self.record(commit, score, seed)
        return float(self.cache[key]), path

    def key(self, commit: str, seed: int | None = None) -> str:
        return f"{commit}:{self._seed(seed)}"

    def score(self, values) -> float:
        """The holdout score of predictions in the holdout's row order."""
        harness = self.harness
        return float(harness.metric(harness.encoded(harness.holdout_labels()), values))

    def record(self, commit: str, score: float, seed: int | None = None) -> None:
        self.cache[self.key(commit, seed)] = float(score)
        self.path.write_text(json.dumps(self.cache, indent=1))
        self.path.chmod(0o600)


def plot_progress(status: ResearchStatus, path: str | Path | None = None) -> Path:
    """Every scored experiment a grey point; the kept ones a step line of the best so far
    (the autoresearch chart). Written to the harness folder unless `path` is given.

    Drawn on its own Figure and Agg canvas, not through pyplot: no global backend switch
    and no figure left open in the caller's notebook."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = Path(path) if path is not None else status.harness.folder / PROGRESS_PNG
    metric = status.harness.metric
    scored = [r for r in status.records if r.score is not None and math.isfinite(r.score)]
    kept = [r for r in scored if ExperimentStatus(r.status).is_best]
    fig = Figure(figsize=(9, 4.5), dpi=110)
    FigureCanvasAgg(fig)  # attaches itself to fig, for savefig
    ax = fig.add_subplot()
    ax.scatter(
        [r.exp_no for r in scored],
        [score_of(r) for r in scored],
        s=18,
        color="0.65",
        label="experiment",
        zorder=2,
    )
    if kept:
        last = max(r.exp_no for r in status.records)
        xs = [r.exp_no for r in kept] + [last]
        ys = [score_of(r) for r in kept] + [score_of(kept[-1])]
        ax.step(xs, ys, where="post", color="tab:green", lw=2, label="best so far", zorder=3)
        ax.scatter(xs[:-1], ys[:-1], s=30, color="tab:green", zorder=4)
        if status.noise_floor:  # what a change must beat to be kept
            sign = 1 if metric.greater_is_better else -1
            bar = [y + sign * status.noise_floor for y in ys]
            ax.step(xs, bar, where="post", color="tab:green", lw=0.8, ls=":", label="+ noise floor")
        for r in kept[1:]:
            ax.annotate(
                r.description[:40], (r.exp_no, r.score), fontsize=7, rotation=20,
                xytext=(4, 4), textcoords="offset points",
            )  # fmt: skip
    n_kept = sum(r.status == ExperimentStatus.KEEP for r in status.records)
    direction = "higher" if metric.greater_is_better else "lower"
    ax.set_xlabel("experiment")
    ax.set_ylabel(f"validation {metric.name} ({direction} is better)")
    ax.set_title(f"research progress: {len(status.records)} experiments, {n_kept} kept")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path
