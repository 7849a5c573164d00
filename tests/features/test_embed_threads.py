"""Embedding chooses torch's thread count by measuring: one thread for a request's few
texts, and for more texts whichever of one thread or all of them encoded its trial batch
faster; the count is restored after and the vectors do not depend on it.

A busy or an idle machine cannot be made to order here, so the choice is checked with the
real encoder slowed down (by a sleep) at one thread count or the other."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the text extra")

import torch

from assay.features import embed_texts
from assay.features._embed import _FEW, _encoder, _Threads

TEXTS = [
    f"review {i}: the plot {'rose' if i % 2 else 'fell'} and the cast was fine" for i in range(80)
]
BATCH = TEXTS[:16]


class _SlowAt:
    """The bundled encoder, 300 ms slower per call when torch runs `threads` threads (far
    more than 16 short texts take at either count, even beside another busy process)."""

    def __init__(self, threads: int) -> None:
        self.threads, self.model = threads, _encoder()

    def encode(self, batch, **kwargs):
        if torch.get_num_threads() == self.threads:
            time.sleep(0.3)
        return self.model.encode(batch, **kwargs)


def _choice(slow_at: int) -> int:
    threads = _Threads(len(TEXTS))
    try:
        for batch_no in range(3):
            assert threads.batch_size(batch_no) == len(BATCH)  # small while measuring
            threads.encode(_SlowAt(slow_at), BATCH, batch_no)
    finally:
        threads.restore()
    assert threads.batch_size(3) > len(BATCH)
    return threads.chosen


def test_the_faster_thread_count_is_chosen_and_restored(every_core: int):
    if every_core < 2:
        pytest.skip("needs 2 cores")
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # as torch starts; an earlier test's model may have set 1
    try:
        assert _choice(slow_at=2) == 1  # as on a busy machine
        assert _choice(slow_at=1) == 2  # as on an idle one
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    few = _Threads(_FEW - 1)
    assert few.chosen == 1 and few.batch_size(1) == few.batch_size(5)  # nothing to try


def test_vectors_do_not_depend_on_the_thread_count():
    before = torch.get_num_threads()
    many = embed_texts(TEXTS)  # tries both counts, then goes on with one
    assert torch.get_num_threads() == before
    torch.set_num_threads(1)
    try:
        alone = np.vstack([embed_texts([text]) for text in TEXTS[:: len(TEXTS) // 8]])
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(many[:: len(TEXTS) // 8], alone, atol=1e-5)
