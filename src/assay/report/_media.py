"""The report's part for image and sound data: how well each class is recognised, and
the examples the predictor got most confidently wrong, as pictures (a grid of thumbnails
embedded in the page) or, for sound, as a table of file names. The confusion matrix is in
the predictions section, as for any classifier."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assay._types import FeatureType
from assay.report._html import Html, Section

if TYPE_CHECKING:
    from assay.report._build import ReportInputs

N_WRONG = 12  # examples shown
MEDIA_FILE = "media.json"  # beside the run's out-of-fold predictions: each row's files


def _rows(inputs: ReportInputs) -> tuple[np.ndarray, np.ndarray, list[str], str] | None:
    """(encoded target, raw predictions, each row's file, where they come from)."""
    from assay.evaluate._explain import read_rows

    predictor, column = inputs.predictor, _media_column(inputs.predictor)
    if inputs.held_out is not None:
        X, y = read_rows(predictor, inputs.held_out, need_target=True)
        return y, predictor._raw(X), X[column].tolist(), f"{len(y)} held-out rows"
    folder = inputs.run_dir / "oof" if inputs.run_dir else None
    if folder is None or not (folder / MEDIA_FILE).is_file():
        return None
    files = json.loads((folder / MEDIA_FILE).read_text()).get(column)
    y, raw = np.load(folder / "target.npy"), np.load(folder / "ensemble.npy")
    if files is None or len(files) != len(y):
        return None
    return y, raw, files, f"out-of-fold predictions of {len(y)} rows"


def _media_column(predictor) -> str | None:
    media = [c.name for c in predictor.schema.columns if c.type.is_media]
    return media[0] if media else None


def media_sections(inputs: ReportInputs) -> list[Section]:
    """The examples section, for a predictor of an image or sound column (else none)."""
    predictor = inputs.predictor
    column = _media_column(predictor)
    if column is None:
        return []
    found = _rows(inputs)
    if found is None:
        return [Section("Examples", blocks=["No predictions with files to show."])]
    y, raw, files, where = found
    image = predictor.schema[column].type is FeatureType.IMAGE
    noun = "pictures" if image else "recordings"
    if predictor.classes is None:
        error = np.abs(raw - y)
        worst = np.argsort(-error)[:N_WRONG]
        table = pd.DataFrame(
            {
                "file": [Path(files[i]).name for i in worst],
                "true": y[worst],
                "predicted": raw[worst],
            }
        )
        captions = [f"true {y[i]:.4g}, predicted {raw[i]:.4g}" for i in worst]
        intro = f"The {len(worst)} {noun} predicted furthest from the truth, on {where}."
        return [Section("Examples", intro, [_grid(files, worst, captions) if image else table])]
    classes = [str(c) for c in predictor.classes]
    predicted = np.argmax(raw, axis=1)
    per_class = pd.DataFrame(
        {
            "class": classes,
            "rows": [int((y == k).sum()) for k in range(len(classes))],
            "accuracy": [
                float((predicted[y == k] == k).mean()) if (y == k).any() else np.nan
                for k in range(len(classes))
            ],
        }
    )
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[np.argsort(-raw[wrong, predicted[wrong]])][:N_WRONG]
    table = pd.DataFrame(
        {
            "file": [Path(files[i]).name for i in wrong],
            "true": [classes[y[i]] for i in wrong],
            "predicted": [classes[predicted[i]] for i in wrong],
            "probability": [float(raw[i, predicted[i]]) for i in wrong],
        }
    )
    captions = [
        f"true {classes[y[i]]}, predicted {classes[predicted[i]]} ({raw[i, predicted[i]]:.2f})"
        for i in wrong
    ]
    shown = _grid(files, wrong, captions) if image else table
    intro = (
        f"Accuracy of each class, and the {len(wrong)} {noun} most confidently wrong "
        f"(highest probability on a wrong class), on {where}."
    )
    blocks = [per_class, shown if len(wrong) else f"No {noun} were predicted wrong."]
    return [Section("Examples", intro, blocks)]


def _grid(files: list[str], rows: np.ndarray, captions: list[str]) -> Html:
    """Thumbnails embedded as PNG, each captioned with its file name and what was wrong."""
    from assay.data._decode import decoded
    from assay.errors import MediaError

    cells = []
    for i, caption in zip(rows, captions, strict=True):
        name = html.escape(Path(files[i]).name)
        try:
            picture = (
                f'<img src="data:image/png;base64,{_png(decoded(files[i], FeatureType.IMAGE))}">'
            )
        except MediaError:
            picture = "<div>(file no longer readable)</div>"
        cells.append(
            f'<figure style="display:inline-block;margin:6px;width:140px;vertical-align:top">'
            f'{picture}<figcaption style="font-size:12px">{name}<br>{html.escape(caption)}'
            "</figcaption></figure>"
        )
    return Html(f'<div class="examples">{"".join(cells)}</div>')


def _png(rgb: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).resize((128, 128)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
