"""Columns derived from the whole training table before the search: text features,
sentence embeddings, text-pair features and differences between date columns.

These need more than one column at a time, or a vocabulary, or a pretrained encoder, so
they are computed once per fit (fold-safe where labels are involved, see `_text`) and
added to the table as numeric columns; every model family then sees them through its
usual per-fold encoder. The predictor applies the same fitted transform before its
members, so a saved predictor takes the raw columns it was trained on."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.config import settings
from assay.errors import ArtifactError
from assay.features._embed import embed_texts, embeddings_available
from assay.features._encoder import as_timestamps
from assay.features._pair_score import PairLinearScore
from assay.features._text import TextColumnFeatures, as_texts
from assay.log import get_logger

logger = get_logger(__name__)

FORMAT = 1
_SIAMESE_SCALARS = ("_cos", "_dot", "_euclidean", "_manhattan")
EmbedProgress = Callable[[str, int, int], None]  # (what, done, total)


def _epoch_days(stamps: pd.Series) -> np.ndarray:
    days = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
    return days.to_numpy(dtype=float, na_value=np.nan)


def _days_between(X: pd.DataFrame, a: str, b: str) -> np.ndarray:
    # in days since 1970 first: two timestamps 300 years apart, or of different
    # resolutions, overflow int64 nanoseconds when subtracted directly
    return _epoch_days(as_timestamps(X[a])) - _epoch_days(as_timestamps(X[b]))


class DerivedFeatures:
    """Fitted once on the training table; `transform` gives the same columns for new rows.

    `embed`: True, False, or None for "when the `text` extra is installed"."""

    def __init__(
        self,
        types: dict[str, FeatureType],
        task: Task,
        *,
        pairs: list[tuple[str, str]] | None = None,
        embed: bool | None = None,
        random_state: int = 0,
    ):
        self.types = dict(types)
        self.task = Task(task)
        self.pairs = [tuple(p) for p in pairs or []]
        self.embed = embeddings_available() if embed is None else bool(embed)
        self.random_state = random_state

    @property
    def text_columns(self) -> list[str]:
        """Text columns featurized on their own (a pair's sides are featurized as a pair)."""
        in_pairs = {c for pair in self.pairs for c in pair}
        return [c for c, t in self.types.items() if t is FeatureType.TEXT and c not in in_pairs]

    @property
    def date_pairs(self) -> list[tuple[str, str]]:
        dates = [c for c, t in self.types.items() if t is FeatureType.DATETIME]
        return list(combinations(dates, 2))

    @property
    def is_empty(self) -> bool:
        return not (self.text_columns or self.pairs or self.date_pairs)

    # fitting and transforming --------------------------------------------------------
    def fit_transform(
        self, X: pd.DataFrame, y: np.ndarray, folds, progress: EmbedProgress | None = None
    ) -> pd.DataFrame:
        """Derived columns of the training rows (linear scores out-of-fold on `folds`)."""
        self.text_, self.pair_scores_ = {}, []
        blocks = []
        for column in self.text_columns:
            features = TextColumnFeatures(column, self.task, self.random_state)
            blocks.append(features.fit_transform(X, y, folds))
            self.text_[column] = features
        for a, b in self.pairs:
            score = PairLinearScore(f"{a}~{b}", self.task, self.random_state)
            u, v = self._embed_pair(X, a, b, progress)
            blocks.append(score.fit_transform(X[a], X[b], y, folds, u, v))
            blocks.append(self._pair_block(X, a, b, u, v))
            self.pair_scores_.append(score)
        blocks += self._unfitted(X, progress)
        out = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=X.index)
        self.columns_ = list(out.columns)
        return out

    def transform(self, X: pd.DataFrame, progress: EmbedProgress | None = None) -> pd.DataFrame:
        blocks = [self.text_[c].transform(X) for c in self.text_columns]
        for (a, b), score in zip(self.pairs, self.pair_scores_, strict=True):
            u, v = self._embed_pair(X, a, b, progress)
            blocks += [score.transform(X[a], X[b], u, v), self._pair_block(X, a, b, u, v)]
        blocks += self._unfitted(X, progress)
        out = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=X.index)
        return out[self.columns_]

    def _embed(self, X: pd.DataFrame, column: str, progress: EmbedProgress | None) -> np.ndarray:
        texts = as_texts(X[column])
        report = (lambda d, n: progress(f"embedding {column}", d, n)) if progress else None
        cache = settings().home / "cache" / "embeddings"
        return embed_texts(texts, cache_dir=cache, progress=report)

    def _embed_pair(self, X, a, b, progress):
        if not self.embed:
            return None, None
        return self._embed(X, a, progress), self._embed(X, b, progress)

    @staticmethod
    def _pair_block(X: pd.DataFrame, a: str, b: str, u, v) -> pd.DataFrame:
        """Lexical features and the scalar siamese ones (the element-wise |u-v| and u*v
        go into the pair's linear score instead of hundreds of columns for the trees)."""
        from assay.features._text_pair import lexical_pair_features, siamese_pair_features

        prefix = f"{a}~{b}"
        lexical = lexical_pair_features(X[a], X[b])
        lexical.columns = [f"{prefix}__{c}" for c in lexical.columns]
        if u is None:
            return lexical
        siamese = siamese_pair_features(u, v, prefix=f"{prefix}__emb", index=X.index)
        scalars = [c for c in siamese.columns if c.endswith(_SIAMESE_SCALARS)]
        return pd.concat([lexical, siamese[scalars]], axis=1)

    def _unfitted(self, X: pd.DataFrame, progress: EmbedProgress | None) -> list[pd.DataFrame]:
        """Blocks that learn nothing from the training rows: embeddings, date gaps."""
        blocks = []
        if self.embed:
            for column in self.text_columns:
                vectors = self._embed(X, column, progress)
                names = [f"{column}__emb{i}" for i in range(vectors.shape[1])]
                blocks.append(pd.DataFrame(vectors, columns=names, index=X.index))
        for a, b in self.date_pairs:
            name = f"{a}__minus__{b}__days"
            blocks.append(pd.DataFrame({name: _days_between(X, a, b)}, index=X.index))
        return blocks

    def feature_types(self) -> dict[str, FeatureType]:
        return dict.fromkeys(self.columns_, FeatureType.NUMERIC)

    # persistence ---------------------------------------------------------------------
    def save(self, folder: Path) -> list[Path]:
        """Write the spec and each text column's fitted parts; returns the files written."""
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "format": FORMAT,
            "types": {c: t.value for c, t in self.types.items()},
            "task": self.task.value,
            "pairs": [list(p) for p in self.pairs],
            "embed": self.embed,
            "random_state": self.random_state,
            "columns": self.columns_,
        }
        files = [folder / "derived.json"]
        files[0].write_text(json.dumps(spec))
        for i, column in enumerate(self.text_columns):
            files.append(folder / f"text_{i}.skops")
            self.text_[column].save(files[-1])
        for i, score in enumerate(self.pair_scores_):
            files.append(folder / f"pair_{i}.skops")
            score.save(files[-1])
        return files

    @classmethod
    def load(cls, folder: Path, trust=False) -> DerivedFeatures:
        """`trust` (a bool or an `assay._trust.Trust`): see `load_skops`."""
        try:
            spec = json.loads((folder / "derived.json").read_text())
            out = cls(
                {c: FeatureType(t) for c, t in spec["types"].items()},
                Task(spec["task"]),
                pairs=[tuple(p) for p in spec["pairs"]],
                embed=spec["embed"],
                random_state=spec["random_state"],
            )
            out.columns_ = list(spec["columns"])
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                f"{folder}/derived.json is missing or malformed ({exc}); re-fit the predictor."
            ) from exc
        out.text_ = {
            column: TextColumnFeatures.load(folder / f"text_{i}.skops", column, out.task, trust)
            for i, column in enumerate(out.text_columns)
        }
        out.pair_scores_ = [
            PairLinearScore.load(folder / f"pair_{i}.skops", f"{a}~{b}", out.task, trust)
            for i, (a, b) in enumerate(out.pairs)
        ]
        return out
