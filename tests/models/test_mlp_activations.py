"""A discovered activation ("discovered:<id>") reaches the MLP through the resolver that
assay.discover registers (models never imports discover); the fitted model carries the
code, so a fresh process loads it without assay.discover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the mlp model needs the `nn` extra (torch==2.13.0)")

from assay.errors import ConfigError
from assay.models import MLPModel, register_activation_resolver

SOFTSIGN = "def activation(x):\n    return x / (1 + torch.abs(x))\n"


def _frame(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, (X.a.to_numpy() * X.b.to_numpy() > 0).astype(int)


def test_a_registered_activation_is_fitted_and_loads_without_discover(assay_home, tmp_path):
    from assay.discover import Hypothesis, Kind, save_component

    component = Hypothesis(Kind.ACTIVATION, SOFTSIGN, origin="grammar")
    save_component(component, {"reward": 1.0})
    X, y = _frame()
    model = MLPModel(
        task="binary", activation=f"discovered:{component.id}", hidden_size=16, n_estimators=3
    ).fit(X, y)
    assert model.activation_code_ == SOFTSIGN
    (tmp_path / "model").mkdir()
    model.save(tmp_path / "model")
    X.to_csv(tmp_path / "rows.csv", index=False)
    np.save(tmp_path / "expected.npy", model.predict_proba(X))

    # a fresh process: loading needs only the carried code; fitting needs the resolver
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, pandas as pd
        from assay.errors import ConfigError
        from assay.models import MLPModel, load_model

        root = {str(tmp_path)!r}
        X = pd.read_csv(root + "/rows.csv")
        loaded = load_model(root + "/model", trust=True)
        same = bool(np.allclose(loaded.predict_proba(X), np.load(root + "/expected.npy")))
        try:
            MLPModel(task="binary", activation="discovered:{component.id}").fit(X, [0, 1] * 150)
            error = None
        except ConfigError as exc:
            error = str(exc)
        print(json.dumps({{"same": same, "error": error,
                          "discover": "assay.discover" in sys.modules}}))
        """
    )
    env = {**os.environ, "ASSAY_HOME": str(assay_home)}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.splitlines()[-1])
    assert answer["same"] and not answer["discover"]
    assert "`import assay.discover` before fitting" in answer["error"]


def test_an_unknown_activation_name_says_what_to_use():
    X, y = _frame(50)
    with pytest.raises(ConfigError, match=r"silu, relu, gelu, tanh or \"discovered:<id>\""):
        MLPModel(task="binary", activation="swish", n_estimators=1).fit(X, y)


def test_a_resolver_is_used_for_its_prefix_and_its_code_must_define_activation(monkeypatch):
    from assay.models import _activations

    # this test's resolvers go into a copy, so no other test sees them
    monkeypatch.setattr(_activations, "_RESOLVERS", dict(_activations._RESOLVERS))
    register_activation_resolver("test-layers:", lambda name: SOFTSIGN)
    X, y = _frame(50)
    model = MLPModel(task="binary", activation="test-layers:softsign", n_estimators=1).fit(X, y)
    assert model.activation_code_ == SOFTSIGN
    register_activation_resolver("test-layers:", lambda name: "def act(x):\n    return x\n")
    with pytest.raises(ConfigError, match=r"does not define `def activation\(x\)`"):
        MLPModel(task="binary", activation="test-layers:broken", n_estimators=1).fit(X, y)
    with pytest.raises(ValueError, match="prefix"):
        register_activation_resolver("relu", lambda name: SOFTSIGN)
