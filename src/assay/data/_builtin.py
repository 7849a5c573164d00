"""Small datasets bundled with scikit-learn, so examples and tests run offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from assay.errors import DataError

PREFIX = "builtin:"
BUILTINS: tuple[str, ...] = ("breast_cancer", "iris", "wine", "diabetes")


def _loader(name: str) -> Callable[..., Any]:
    from sklearn import datasets

    return {
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }[name]


def load_builtin(name: str) -> pd.DataFrame:
    """Features plus a `target` column; class targets carry their names, not codes."""
    if name not in BUILTINS:
        import difflib

        close = difflib.get_close_matches(name, BUILTINS, n=1)
        hint = f" Did you mean 'builtin:{close[0]}'?" if close else ""
        raise DataError(
            f"Unknown builtin dataset 'builtin:{name}'.{hint} "
            f"Available: {', '.join(PREFIX + b for b in BUILTINS)}."
        )
    bunch = _loader(name)(as_frame=True)
    frame = bunch.frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    names = getattr(bunch, "target_names", None)
    if name != "diabetes" and names is not None:
        codes = frame["target"].to_numpy()
        frame["target"] = pd.Series([str(names[int(c)]) for c in codes], index=frame.index)
    return frame
