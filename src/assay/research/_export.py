"""From research to production: research's answer (`research_answer`: the ensemble of
experiments unless the best experiment clearly beats it), the best experiment, any one
experiment, or the ensemble as an ordinary predictor (`assay predict`, `serve`, `report`,
`explain`).

Each experiment exported is run once more by the harness as for its holdout score: trained
on the training and validation rows, scored on the hidden holdout, with run.json asking
the pipeline to save its predictor. The ensemble's members are blended with the weights
the loop chose out of fold. What is exported says which experiments it came from and
what it scored on the holdout, the only score no decision of the loop has seen.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from assay.errors import ResearchError
from assay.log import get_logger
from assay.research._ensemble import Member
from assay.research._ledger import ExperimentStatus, score_of
from assay.research._report import (
    HoldoutBook,
    current_ensemble,
    research_answer,
    research_status,
)
from assay.research._workspace import Repo

logger = get_logger(__name__)


@dataclass(frozen=True)
class Exported:
    path: Path
    members: tuple[Member, ...]
    valid_score: float
    holdout_score: float
    why: str = ""  # why "auto" chose what it did


def export_research(ws: str | Path, out: str | Path, which: str | int = "auto") -> Exported:
    """Save the predictor of `which` ("auto": research's answer, "best", "ensemble" or an
    experiment number) at `out`. Raises ResearchError naming the experiment when its
    pipeline cannot save a predictor."""
    from assay.automl import Predictor
    from assay.automl._blend import blend_predictors

    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ResearchError(f"--out {out} exists and is not a predictor: choose a new folder")
    status = research_status(ws)
    harness = status.harness
    if status.best is None:
        raise ResearchError(f"{ws} has no experiments yet: run `assay research run {ws}` first")
    why = ""
    if which == "auto":
        answer = research_answer(status)
        which, why = answer.which, f"{answer.which}: {answer.why}"
    if which == "ensemble":
        chosen = current_ensemble(status)
        if chosen is None:
            raise ResearchError(
                "no ensemble of experiments yet (it needs two experiments with out-of-fold "
                "predictions that Caruana selection combines); export the best instead"
            )
        line = status.ensemble_line
        members, valid = chosen.members, score_of(line) if line else float("nan")
    else:
        chosen = None
        record = status.best if which == "best" else status.record(int(which))
        if ExperimentStatus(record.status) not in (
            ExperimentStatus.BASELINE,
            ExperimentStatus.KEEP,
            ExperimentStatus.DISCARD,
        ):
            raise ResearchError(
                f"experiment {record.exp_no} is a {record.status} line with no pipeline of "
                "its own; export 'ensemble' or an experiment that ran"
            )
        members, valid = (Member(record.exp_no, 1.0),), score_of(record)
    book = HoldoutBook(harness, Repo(ws))
    with tempfile.TemporaryDirectory(dir=harness.folder.parent, prefix="export-") as tmp:
        predictors, paths, scores = [], {}, []
        for member in members:
            record = status.record(member.exp_no)
            folder = Path(tmp) / f"exp-{member.exp_no}-{member.seed}"
            label = book.prepare(record, member.seed)
            what = f"experiment {member.exp_no}" + (
                "" if member.seed is None else f" at seed {member.seed}"
            )
            logger.info("exporting %s (trained on train + validation rows)", what)
            result = harness.run(
                Repo(ws).show(record.commit or ""),
                seed=member.seed,
                label=label,
                holdout=True,
                export=folder,
            )
            if not result.ok or result.score is None:
                last = (result.log_tail.strip().splitlines() or [""])[-1]
                raise ResearchError(
                    f"{what} could not be exported: {result.reason}. {last} "
                    f"(log: {result.log_path})"
                )
            book.record(record.commit or "", result.score, member.seed)
            scores.append(result.score)
            predictors.append(Predictor.load(folder))
            paths[member.key] = harness.predictions_of(label)
        if len(members) == 1:
            predictor, holdout = predictors[0], scores[0]
        else:
            assert chosen is not None  # several members: the ensemble's
            predictor = blend_predictors(
                predictors, [m.weight for m in members], temperature=chosen.temperature
            )
            holdout = book.score(chosen.predict(paths))
        predictor.info["research"] = {
            "workspace": str(Path(ws).resolve()),
            "experiments": [
                {"exp_no": m.exp_no, "weight": m.weight}
                | ({} if m.seed is None else {"seed": m.seed})
                for m in members
            ],
            "metric": harness.metric.name,
            "valid_score": valid,
            "holdout_score": holdout,
        }
        predictor.save(out)
    return Exported(out, tuple(members), valid, holdout, why)
