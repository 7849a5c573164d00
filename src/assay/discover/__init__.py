"""Component discovery: generate, validate, rank and evaluate new model components
(activation functions, preprocessing functions, regularizers); winners go to a registry that
assay's MLP reads (`activation="discovered:<id>"`) once this package is imported."""

from assay.discover._evaluate import Evaluation, Evaluator
from assay.discover._grammar import GrammarGenerator
from assay.discover._llm_generator import Evaluated, LLMGenerator
from assay.discover._loop import DiscoveryLoop, Line
from assay.discover._registry import PREFIX, list_components, load_component, save_component
from assay.discover._run import DiscoveryResult, discover
from assay.discover._spec import Hypothesis, Kind, baselines, compile_component
from assay.models import register_activation_resolver


def _activation_code(name: str) -> str:
    """The source behind "discovered:<id>", for the MLP (models never imports discover)."""
    return load_component(name, Kind.ACTIVATION).code


register_activation_resolver(PREFIX, _activation_code)

__all__ = [
    "DiscoveryLoop",
    "DiscoveryResult",
    "Evaluated",
    "Evaluation",
    "Evaluator",
    "GrammarGenerator",
    "Hypothesis",
    "Kind",
    "LLMGenerator",
    "Line",
    "baselines",
    "compile_component",
    "discover",
    "list_components",
    "load_component",
    "save_component",
]
