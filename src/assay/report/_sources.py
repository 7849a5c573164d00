"""Finding what a report is drawn from: a predictor folder or a run id, the run's trials
and out-of-fold predictions in the store, the data it was fitted on, held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assay.errors import ArtifactError, StoreError
from assay.log import get_logger
from assay.report._build import ReportInputs

logger = get_logger(__name__)


def _read(source: str | None):
    from assay.data import read_table

    if not source or source == "DataFrame":
        return None
    if not source.startswith("builtin:") and not Path(source).exists():
        logger.warning("the training data %s is gone: the report has no data profile", source)
        return None
    return read_table(source)


def _fitted_rows(frame, predictor):
    """The rows the fit learned from: those whose image or sound file does not decode were
    left out of the fit, and are left out of the report too."""
    if frame is None:
        return None
    from assay.data._decode import decode_all

    keep = np.ones(len(frame), dtype=bool)
    for column in predictor.schema.columns:
        if column.type.is_media and column.name in frame.columns:
            _, bad = decode_all(frame[column.name].tolist(), column.type)
            keep &= ~frame[column.name].isin(list(bad)).to_numpy()
    return frame if keep.all() else frame.loc[keep].reset_index(drop=True)


def gather_inputs(
    model_or_run: str | Path,
    data=None,
    *,
    glm: bool = False,
    store=None,
    predictor=None,
    trust: bool = False,
) -> ReportInputs:
    """`model_or_run`: a predictor folder, or a run id (or prefix) in the store. `data`:
    held-out rows with the target (a path or DataFrame), optional. `trust`: as for
    `assay.load`."""
    import assay
    from assay.config import settings
    from assay.data import read_table
    from assay.store import open_store

    run = None
    path = Path(model_or_run)
    if predictor is None and not path.exists():
        store = store or open_store()
        run = store.get_run(str(model_or_run))
        if not run.artifact_dir:
            raise ArtifactError(
                f"Run {run.run_id} has no saved predictor (state {run.state.value}): report on "
                "a finished run or give the predictor folder."
            )
        path = Path(run.artifact_dir)
    predictor = predictor or assay.load(path, trust=trust)
    run_id = predictor.info.get("run_id")
    trials = None
    if run_id:
        try:
            store = store or open_store()
            run = run or store.get_run(run_id)
            trials = store.trials(run_id)
        except StoreError:
            logger.info("run %s is not in this store: no search history in the report", run_id)
    run_dir = settings().home / run_id if run_id else None
    held_out = data if data is None or hasattr(data, "columns") else read_table(data)
    return ReportInputs(
        predictor=predictor,
        training=_fitted_rows(_read(run.source), predictor) if run is not None else None,
        held_out=held_out,
        run=run,
        trials=trials,
        run_dir=run_dir if run_dir is not None and run_dir.exists() else None,
        glm=glm,
    )
