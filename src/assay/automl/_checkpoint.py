"""Trials on disk, so a fit holds only out-of-fold predictions in memory and a killed fit
resumes from its finished trials.

Each finished trial's fold models and encoders go to RUN_DIR/trials/NNNN/ (written to a
temporary folder, then renamed: a kill leaves a whole checkpoint or none) and leave memory
at once: between trials a fit holds the trials' out-of-fold predictions and scores, not
their models, however many trials it runs. Whoever needs the models later (the ensemble's
members, the stacking layer's bases) loads just those back with `load_models`, and an
ensemble member only when it needs them (`load_member`): a member refitted on all rows
never needs its folds. A trial that falls out of the ensemble's candidates loses its
folder. `resumed_outcomes` rebuilds the outcomes of a run from the store's trial records
and these folders; a trial recorded without a folder comes back without models, which is
what it had when it was let go.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from assay._trust import Trust
from assay._types import TrialSource, TrialState
from assay.automl._member import Member
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
    """Checkpoint a finished trial's fold models, then let go of them in memory: the
    outcome keeps its out-of-fold predictions and scores, and `saved_in` says where its
    models are. An outcome without models clears any folder left under its number."""
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
        "rounds": fold_rounds(fit.models),
    }
    (staging / "meta.json").write_text(json.dumps(meta))  # written last: the folder is whole
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    fit.models, fit.encoders = [], []
    outcome.saved_in = final


def drop_trial(run_dir: Path, trial_no: int) -> None:
    shutil.rmtree(_folder(run_dir, trial_no), ignore_errors=True)


def drop_checkpoints(run_dir: Path) -> None:
    """Every trial's checkpoint: a finished run is not resumed, and its predictor holds
    its own copy of the members' models."""
    shutil.rmtree(run_dir / TRIALS, ignore_errors=True)


def load_models(folder: Path) -> tuple[list[TabularEncoder], list]:
    """The fold encoders and models of a checkpoint, in fold order."""
    meta = checkpoint_meta(folder)
    encoders, models = [], []
    for k in range(meta["n_folds"]):
        fold = folder / f"fold_{k}"
        encoders.append(TabularEncoder.from_dict(json.loads((fold / "encoder.json").read_text())))
        # the run's own checkpoint, written by this assay under ASSAY_HOME, may carry the
        # code of a discovered activation the fit used: trusted, as the fit itself was
        models.append(load_model(fold / "model", trust=Trust(True)))
    return encoders, models


def fold_rounds(models: list) -> list[int]:
    """The boosting rounds (or epochs) each fold model kept by early stopping, if it has them."""
    return [int(m.n_iterations_) for m in models if hasattr(m, "n_iterations_")]


def checkpoint_meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


def load_member(member: Member) -> Member:
    """The member with its fold models in memory, read from its trial checkpoint if they
    are not there yet (their round counts with them)."""
    if member.checkpoint is not None and not member.models:
        member.encoders, member.models = load_models(member.checkpoint)
        member.fold_rounds = fold_rounds(member.models)
    member.checkpoint = None
    return member


def load_trial(run_dir: Path, trial_no: int) -> CrossFit | None:
    """A checkpointed trial as the search holds it: out-of-fold predictions and scores, its
    models left on disk (None when the folder is missing or was never completed)."""
    folder = _folder(run_dir, trial_no)
    if not (folder / "meta.json").is_file():
        return None
    meta = json.loads((folder / "meta.json").read_text())
    return CrossFit(
        oof=np.load(folder / "oof.npy"),
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
        fit, saved_in = None, None
        if state is TrialState.COMPLETE and run_dir is not None:
            fit = load_trial(run_dir, record.trial_no)
            saved_in = None if fit is None else _folder(run_dir, record.trial_no)
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
                saved_in=saved_in,
            )
        )
    logger.info(
        "resuming from %d trials (%d with their models)",
        len(outcomes),
        sum(o.has_models for o in outcomes),
    )
    return outcomes
