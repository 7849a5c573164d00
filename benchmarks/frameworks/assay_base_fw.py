"""assay from another checkout, side by side with the current one in the same run: the
`src` folder named by ASSAY_BASE_SRC, for example a git worktree of the commit a change is
measured against (`git worktree add ../base <commit>`; `ASSAY_BASE_SRC=../base/src`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SRC = Path(os.environ.get("ASSAY_BASE_SRC", "")).expanduser()
if not os.environ.get("ASSAY_BASE_SRC") or not (_SRC / "assay" / "__init__.py").is_file():
    raise SystemExit(
        f"assay-base needs ASSAY_BASE_SRC to name the src folder of an assay checkout, not "
        f"{os.environ.get('ASSAY_BASE_SRC')!r}: git worktree add ../base <commit>, then "
        "ASSAY_BASE_SRC=../base/src."
    )
sys.path.insert(0, str(_SRC.resolve()))

from assay_fw import PACKAGE, fit_predict, source_revision  # noqa: E402

__all__ = ["PACKAGE", "fit_predict", "source_revision"]
