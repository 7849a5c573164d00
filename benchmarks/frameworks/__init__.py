"""Framework adapters for the benchmark harness.

Each adapter is one small module with `fit_predict(train, test, spec) -> dict`, run by
`_child.py` inside the framework's own Python (its virtual environment), so peers never
share dependencies with assay. `spec` carries dataset, target, task, metric, budget_s, seed,
n_jobs and the framework's options; the result holds `pred` (class probabilities in the
order of `classes`, or values), `classes` (as strings), `fit_s` and `predict_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE.parent / ".venvs"


@dataclass(frozen=True)
class Framework:
    name: str
    module: str  # adapter module in this folder
    venv: str | None = None  # None: assay's own interpreter
    options: dict = field(default_factory=dict)

    def python(self, default: str) -> str:
        if self.venv is None:
            return default
        python = VENVS / self.venv / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(
                f"{python} is missing: run benchmarks/setup_peers.sh to create the peers' "
                "environments."
            )
        return str(python)


FRAMEWORKS = {
    f.name: f
    for f in [
        Framework("assay", "assay_fw"),
        Framework("assay-fast", "assay_fw", options={"deploy": "fast"}),
        Framework("assay-bagged", "assay_fw", options={"deploy": "bagged"}),
        # text without sentence embeddings (TF-IDF and the other cheap text features only)
        Framework("assay-noembed", "assay_fw", options={"embed": False}),
        # variants whose results on tabular_design set defaults (learn_defaults.py)
        *(Framework(f"assay-folds{k}", "assay_fw", options={"n_folds": k}) for k in (3, 5, 8)),
        Framework("assay-nostack", "assay_fw", options={"stack": "off"}),
        # forests fitted per fold, as before they were scored out of bag
        Framework("assay-forestfolds", "assay_fw", options={"forests": "folds"}),
        # the defaults of another checkout (ASSAY_BASE_SRC): before and after a change
        Framework("assay-base", "assay_base_fw"),
        Framework("autogluon-best", "autogluon_fw", "autogluon", {"presets": "best_quality"}),
        Framework("autogluon-medium", "autogluon_fw", "autogluon", {"presets": "medium_quality"}),
        Framework("flaml", "flaml_fw", "flaml"),
        Framework("lightgbm", "lightgbm_fw"),
        Framework("constant", "constant_fw"),
    ]
}
