"""Trials on disk, so a killed fit resumes from its finished trials.

Each finished trial that can still join the ensemble keeps its fold models and encoders in
RUN_DIR/trials/NNNN/ (written to a temporary folder, then renamed: a kill leaves a whole
checkpoint or none). A trial that falls out of the ensemble's candidates loses its folder,
as it loses its models in memory. `resumed_outcomes` rebuilds the outcomes of a run from
the store's trial records and these folders; a trial recorded without a folder comes back
without models, which is what it had in memory when it was let go.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from assay._trust import Trust
from assay._types import TrialSource, TrialState
from assay.automl._trials import LEVEL_KEY, TrialOutcome
from assay.evaluate import CrossFit
from assay.features import TabularEncoder
from assay.log import get_logger
from assay.models import load_model
from assay.search import Candidate

logger = get_logger(__name__)
TRIALS = "trials"


def _folder(run_dir: Path, trial_no: int) -> Path:
    return run_dir / TRIALS / f"{trial_no:04d}"


def save_trial(run_dir: Path, outcome: TrialOutcome) -> None:
    fit = outcome.fit
    final = _folder(run_dir, outcome.trial_no)
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    if outcome.state is not TrialState.COMPLETE or fit is None or not fit.models:
        # a killed run may have left this number's folder (saved, then killed before the
        # record): it holds another config's models, not this trial's
        shutil.rmtree(final, ignore_errors=True)
        return
    for k, (encoder, model) in enumerate(zip(fit.encoders, fit.models, strict=True)):
        (staging / f"fold_{k}" / "model").mkdir(parents=True)
        (staging / f"fold_{k}" / "encoder.json").write_text(json.dumps(encoder.to_dict()))
        model.save(staging / f"fold_{k}" / "model")
    np.save(staging / "oof.npy", fit.oof)
    meta = {
        "n_folds": len(fit.models),
        "fold_scores": list(fit.fold_scores),
        "fit_time_s": fit.fit_time_s,
        "predict_time_s": fit.predict_time_s,
        "peak_memory_mb": fit.peak_memory_mb,
    }
    (staging / "meta.json").write_text(json.dumps(meta))  # written last: the folder is whole
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def drop_trial(run_dir: Path, trial_no: int) -> None:
    shutil.rmtree(_folder(run_dir, trial_no), ignore_errors=True)


def load_trial(run_dir: Path, trial_no: int) -> CrossFit | None:
    folder = _folder(run_dir, trial_no)
    if not (folder / "meta.json").is_file():
        return None
    meta = json.loads((folder / "meta.json").read_text())
    encoders, models = [], []
    for k in range(meta["n_folds"]):
        fold = folder / f"fold_{k}"
        encoders.append(TabularEncoder.from_dict(json.loads((fold / "encoder.json").read_text())))
        # the run's own checkpoint, written by this assay under ASSAY_HOME, may carry the
        # code of a discovered activation the fit used: trusted, as the fit itself was
        models.append(load_model(fold / "model", trust=Trust(True)))
    return CrossFit(
        oof=np.load(folder / "oof.npy"),
        encoders=encoders,
        models=models,
        fold_scores=list(meta["fold_scores"]),
        fit_time_s=meta["fit_time_s"],
        predict_time_s=meta["predict_time_s"],
        peak_memory_mb=meta["peak_memory_mb"],
    )


def resumed_outcomes(trials: list, run_dir: Path | None) -> list[TrialOutcome]:
    """The level-1 trials of a stored run as outcomes (level-2 ones are fitted again: the
    stack is decided anew after a resume)."""
    outcomes = []
    for record in trials:
        if record.config.get(LEVEL_KEY) == 2:
            continue
        state = TrialState(record.state)
        fit = None
        if state is TrialState.COMPLETE and run_dir is not None:
            fit = load_trial(run_dir, record.trial_no)
        score = float("nan") if record.score is None else float(record.score)
        if state is TrialState.COMPLETE and fit is None:
            # let go before the kill: only its scores are left
            fit = CrossFit(oof=np.empty(0), fold_scores=list(record.fold_scores))
        outcomes.append(
            TrialOutcome(
                record.trial_no,
                Candidate(record.model, dict(record.config), TrialSource.RESUMED),
                state,
                score,
                fit,
                record.error,
                elapsed_s=record.fit_time_s or 0.0,
            )
        )
    logger.info(
        "resuming from %d trials (%d with their models)",
        len(outcomes),
        sum(o.fit is not None and bool(o.fit.models) for o in outcomes),
    )
    return outcomes
