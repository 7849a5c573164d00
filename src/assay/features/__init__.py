"""Feature preprocessing: per-fold encoders, columns derived once per fit (text,
embeddings, text pairs, date differences), and generated candidate features with their
staged discovery."""

from assay._types import Encoding
from assay.features._derive import DerivedFeatures
from assay.features._discover import Discovery, discover
from assay.features._embed import embed_texts, embeddings_available
from assay.features._encoder import TabularEncoder
from assay.features._operators import FeatureSpec, GeneratedFeatures, generate
from assay.features._text_pair import (
    lexical_pair_features,
    ordered_pair_features,
    siamese_pair_features,
)

__all__ = [
    "DerivedFeatures",
    "Discovery",
    "Encoding",
    "FeatureSpec",
    "GeneratedFeatures",
    "TabularEncoder",
    "discover",
    "embed_texts",
    "embeddings_available",
    "generate",
    "lexical_pair_features",
    "ordered_pair_features",
    "siamese_pair_features",
]
