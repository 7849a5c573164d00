"""What a research workspace has found: the ledger, the best so far, the noise floor, the
hidden holdout scores of the baseline and the best, and a progress chart.

Holdout scores are computed on request (one sandboxed run each, on train + validation rows)
and cached per commit and seed in the harness folder; they are for people to read, and the
loop never sees them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from assay.errors import ResearchError
from assay.log import get_logger
from assay.research._harness import Harness
from assay.research._ledger import ExperimentStatus, Ledger, noise_floor, score_of
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
    def gain(self) -> float | None:
        """Validation gain of the best over the baseline, positive when better."""
        if self.baseline is None or self.best is None:
            return None
        loss = self.harness.metric.loss
        return loss(score_of(self.baseline)) - loss(score_of(self.best))


@dataclass(frozen=True)
class HoldoutRow:
    label: str  # "baseline" or "best"
    exp_no: int
    commit: str
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
    """Holdout scores of the baseline and the best (one row when they are the same)."""
    if status.baseline is None or status.best is None:
        return []
    harness, repo = status.harness, Repo(ws)
    cache_path = harness.folder / HOLDOUT_CACHE
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    rows = []
    pairs = [("baseline", status.baseline), ("best", status.best)]
    for label, record in pairs[: 1 if status.best.exp_no == status.baseline.exp_no else 2]:
        commit = record.commit
        if commit is None:  # baseline and kept lines are always committed
            raise ResearchError(f"experiment {record.exp_no} has no commit in results.tsv")
        key = f"{commit}:{harness.seed}"
        if key not in cache:
            logger.info("scoring experiment %d on the holdout", record.exp_no)
            cache[key] = harness.holdout_score(repo.show(commit))
            cache_path.write_text(json.dumps(cache, indent=1))
            cache_path.chmod(0o600)
        rows.append(HoldoutRow(label, record.exp_no, commit, score_of(record), cache[key]))
    return rows


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
