"""Features of free-text columns for the tabular models.

Per text column: TF-IDF over word 1-2 grams and character 2-5 grams, (a) compressed by a
truncated SVD into a few dense columns the tree models can split on, and (b) fed whole to
a linear model whose out-of-fold score becomes one more column. The linear model is what
works best on sparse n-grams; the trees then combine its score with everything else. The
score of a training row comes from the fold model that did not see that row, on the same
folds the AutoML search uses, so no row's label reaches its own feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import Task
from assay.log import get_logger

logger = get_logger(__name__)

N_SVD = 32
_WORD_FEATURES = 50_000
_CHAR_FEATURES = 100_000
_C = 4.0  # inverse regularization of the logistic model on sublinear TF-IDF


def as_texts(column: pd.Series) -> list[str]:
    """A text column as plain strings, missing values as empty text."""
    return column.astype("string").fillna("").astype(str).tolist()


def _vectorizer(n_rows: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    min_df = 2 if n_rows >= 50 else 1
    common = {
        "sublinear_tf": True,
        "strip_accents": "unicode",
        "min_df": min_df,
        "dtype": np.float64,
    }
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), max_features=_WORD_FEATURES, **common)),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), max_features=_CHAR_FEATURES, **common
                ),
            ),
        ]
    )


def _linear(task: Task, random_state: int, C: float = _C):
    from sklearn.linear_model import LogisticRegression, Ridge

    if task is Task.REGRESSION:
        return Ridge(alpha=1.0 / C)
    return LogisticRegression(C=C, max_iter=1000, random_state=random_state)


def _scores(model, matrix, task: Task) -> np.ndarray:
    """One column for binary and regression, one per class for multiclass."""
    if task is Task.REGRESSION:
        return model.predict(matrix).reshape(-1, 1)
    proba = model.predict_proba(matrix)
    return proba[:, 1:] if task is Task.BINARY else proba


def _fold_scores(model, X_train, y_train, X_valid, task: Task, classes) -> np.ndarray:
    """`_scores` of a fold model, in the columns of the model fitted on all rows: a class
    too rare to be among the fold's training rows gets probability 0 (and a fold with a
    single class, which no classifier fits, predicts it with certainty)."""
    if task is Task.REGRESSION:
        return _scores(model.fit(X_train, y_train), X_valid, task)
    present = np.unique(y_train)
    proba = np.zeros((X_valid.shape[0], len(classes)))
    if len(present) == 1:
        proba[:, np.searchsorted(classes, present[0])] = 1.0
    else:
        model.fit(X_train, y_train)
        proba[:, np.searchsorted(classes, model.classes_)] = model.predict_proba(X_valid)
    return proba[:, 1:] if task is Task.BINARY else proba


def fit_linear_oof(matrix, y, task: Task, folds, random_state: int, C: float = _C):
    """(linear model fitted on all rows, out-of-fold scores of the training rows). Rows no
    fold validates (the earliest block of a time split) get the validated rows' mean score,
    which says nothing of their own labels."""
    y = np.asarray(y)
    model = _linear(task, random_state, C).fit(matrix, y)
    classes = getattr(model, "classes_", None)
    oof = np.zeros((matrix.shape[0], _scores(model, matrix[:1], task).shape[1]))
    validated = np.zeros(matrix.shape[0], dtype=bool)
    for train, valid in folds:
        fold = _linear(task, random_state, C)
        oof[valid] = _fold_scores(fold, matrix[train], y[train], matrix[valid], task, classes)
        validated[valid] = True
    if not validated.all():
        oof[~validated] = oof[validated].mean(axis=0)
    return model, oof


def score_columns(prefix: str, scores: np.ndarray) -> dict[str, np.ndarray]:
    if scores.shape[1] == 1:
        return {prefix: scores[:, 0]}
    return {f"{prefix}{i}": scores[:, i] for i in range(scores.shape[1])}


class TextColumnFeatures:
    """SVD and linear-score features of one text column (see the module docstring)."""

    def __init__(self, column: str, task: Task, random_state: int = 0):
        self.column = column
        self.task = Task(task)
        self.random_state = random_state

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray, folds) -> pd.DataFrame:
        """Fit on all rows; the training rows' scores are out-of-fold (`folds` as in cross_fit)."""
        from sklearn.decomposition import TruncatedSVD

        texts = as_texts(X[self.column])
        self.vectorizer_ = _vectorizer(len(texts))
        try:
            matrix = self.vectorizer_.fit_transform(texts)
        except ValueError:  # no word kept: one-letter words only, or no word in two rows
            logger.info(
                "Text column '%s' has no words TF-IDF can use; using characters.", self.column
            )
            matrix = self.vectorizer_.set_params(word="drop").fit_transform(texts)
        n_components = max(1, min(N_SVD, matrix.shape[1] - 1, len(texts) - 1))
        self.svd_ = TruncatedSVD(n_components, random_state=self.random_state)
        dense = self.svd_.fit_transform(matrix)
        self.linear_, oof = fit_linear_oof(matrix, y, self.task, folds, self.random_state)
        return self._frame(dense, oof, X.index)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        matrix = self.vectorizer_.transform(as_texts(X[self.column]))
        return self._frame(
            self.svd_.transform(matrix), _scores(self.linear_, matrix, self.task), X.index
        )

    def _frame(self, dense: np.ndarray, scores: np.ndarray, index) -> pd.DataFrame:
        columns = {f"{self.column}__svd{i}": dense[:, i] for i in range(dense.shape[1])}
        columns.update(score_columns(f"{self.column}__tfidf_score", scores))
        return pd.DataFrame(columns, index=index)

    # persistence: scikit-learn parts through skops (no pickle) -----------------
    def save(self, path: Path) -> None:
        save_parts([self.vectorizer_, self.svd_, self.linear_], path)

    @classmethod
    def load(cls, path: Path, column: str, task: Task, trust=False) -> TextColumnFeatures:
        out = cls(column, task)
        out.vectorizer_, out.svd_, out.linear_ = load_parts(path, 3, trust)
        return out


def _vectorizers(estimator) -> list:
    """The vectorizers in `estimator`: itself, or the parts of a FeatureUnion."""
    from sklearn.feature_extraction.text import CountVectorizer

    parts = [part for _, part in getattr(estimator, "transformer_list", [("", estimator)])]
    return [part for part in parts if isinstance(part, CountVectorizer)]


def save_parts(parts: list, path: Path) -> None:
    """Fitted scikit-learn `parts` in one skops file, each vectorizer's vocabulary as an
    array of its terms in column order: skops writes a dict entry by entry, which took
    minutes for the 60,000 n-grams of 5,000 short texts (the array takes milliseconds)."""
    from assay.models._sklearn import save_skops

    vectorizers = [v for part in parts for v in _vectorizers(part)]
    vocabularies = [v.vocabulary_ for v in vectorizers]
    terms = [np.array(sorted(vocab, key=vocab.__getitem__), dtype=str) for vocab in vocabularies]
    pairs = zip(terms, vocabularies, strict=True)
    if any(t.tolist() != sorted(v, key=v.__getitem__) for t, v in pairs):
        save_skops(parts, path)  # a term an array cannot hold (a trailing NUL): as a dict
        return
    for vectorizer in vectorizers:
        del vectorizer.vocabulary_
    try:
        save_skops([*parts, terms], path)
    finally:
        for vectorizer, vocabulary in zip(vectorizers, vocabularies, strict=True):
            vectorizer.vocabulary_ = vocabulary


def load_parts(path: Path, n_parts: int, trust=False) -> list:
    """The `n_parts` parts `save_parts` wrote (or a plain list of them, as saved before)."""
    from assay.models._sklearn import load_skops

    loaded = load_skops(path, (list,), trust)
    if len(loaded) == n_parts:
        return loaded
    *parts, terms = loaded
    vectorizers = [v for part in parts for v in _vectorizers(part)]
    for vectorizer, array in zip(vectorizers, terms, strict=True):
        vectorizer.vocabulary_ = {term: i for i, term in enumerate(array.tolist())}
    return parts
