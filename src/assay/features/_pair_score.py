"""A linear model over how two texts relate, as one out-of-fold score column.

Its inputs: which words and word pairs both sides share (a AND b) and which only one side
has (a XOR b), over binary 1-2 gram counts, plus the element-wise |u-v| and u*v of the
sides' sentence embeddings when there are any. A linear model weighs thousands of such
sparse columns well where trees would need many rounds; the trees then combine its score
with the scalar pair features. Scores of training rows are out-of-fold, as in `_text`.

With `ordered`, two more blocks say which side is which: b minus a over the same n-grams
(+1 only in b, -1 only in a) and v - u of the embeddings, and the score is a column of its
own (`ordered_pair_score`) beside the symmetric one: where the order carries meaning (a
hypothesis's words that its premise lacks) the symmetric blocks cannot tell the sides
apart, and where it means nothing (paraphrases) the extra blocks cost the score accuracy
(the score alone on MRPC's test pairs, in a probe: 0.742 against 0.756), so the symmetric
score stays as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import Task
from assay.features._text import (
    _scores,
    as_texts,
    fit_linear_oof,
    load_parts,
    save_parts,
    score_columns,
)

_C = 0.3  # chosen on MRPC's training folds (0.3 / 1 / 3 within 0.4 points of accuracy)


class PairLinearScore:
    """Fitted once per fit on the training pairs; `transform` scores new pairs."""

    def __init__(self, name: str, task: Task, random_state: int = 0, ordered: bool = False):
        self.name = name
        self.task = Task(task)
        self.random_state = random_state
        self.ordered = ordered

    def _matrix(self, a: pd.Series, b: pd.Series, u: np.ndarray | None, v: np.ndarray | None):
        from scipy import sparse

        left = self.vectorizer_.transform(as_texts(a))
        right = self.vectorizer_.transform(as_texts(b))
        blocks = [left.multiply(right), abs(left - right)]
        if self.ordered:
            blocks.append(right - left)
        if u is not None and v is not None:
            dense = [np.abs(u - v), u * v] + ([v - u] if self.ordered else [])
            blocks.append(sparse.csr_matrix(np.hstack(dense)))
        return sparse.hstack(blocks).tocsr()

    def fit_transform(self, a: pd.Series, b: pd.Series, y, folds, u=None, v=None) -> pd.DataFrame:
        from sklearn.feature_extraction.text import CountVectorizer

        min_df = 2 if len(a) >= 50 else 1
        self.vectorizer_ = CountVectorizer(
            binary=True, ngram_range=(1, 2), min_df=min_df, token_pattern=r"(?u)\b\w+\b"
        ).fit(as_texts(a) + as_texts(b))
        matrix = self._matrix(a, b, u, v)
        self.linear_, oof = fit_linear_oof(matrix, y, self.task, folds, self.random_state, _C)
        return pd.DataFrame(score_columns(self._column, oof), index=a.index)

    def transform(self, a: pd.Series, b: pd.Series, u=None, v=None) -> pd.DataFrame:
        scores = _scores(self.linear_, self._matrix(a, b, u, v), self.task)
        return pd.DataFrame(score_columns(self._column, scores), index=a.index)

    @property
    def _column(self) -> str:
        return f"{self.name}__{'ordered_' if self.ordered else ''}pair_score"

    def save(self, path: Path) -> None:
        save_parts([self.vectorizer_, self.linear_], path)

    @classmethod
    def load(
        cls, path: Path, name: str, task: Task, trust=False, ordered: bool = False
    ) -> PairLinearScore:
        out = cls(name, task, ordered=ordered)
        out.vectorizer_, out.linear_ = load_parts(path, 2, trust)
        return out
