"""Feature preprocessing: per-fold encoders, and columns derived once per fit (text,
embeddings, text pairs, date differences)."""

from assay._types import Encoding
from assay.features._derive import DerivedFeatures
from assay.features._embed import embed_texts, embeddings_available
from assay.features._encoder import TabularEncoder
from assay.features._text_pair import lexical_pair_features, siamese_pair_features

__all__ = [
    "DerivedFeatures",
    "Encoding",
    "TabularEncoder",
    "embed_texts",
    "embeddings_available",
    "lexical_pair_features",
    "siamese_pair_features",
]
