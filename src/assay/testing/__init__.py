"""Contract checks and toy data shipped with the package, for assay and for plug-ins."""

from assay.errors import PostgresUnavailable
from assay.testing._check_model import check_model
from assay.testing._llm_server import ScriptedOpenAIServer
from assay.testing._postgres import PostgresServer
from assay.testing._service import ServiceProcess
from assay.testing._toy import toy_frame
from assay.testing._toy_media import toy_media
from assay.testing._toy_text import toy_paraphrases, toy_reviews

__all__ = [
    "PostgresServer",
    "PostgresUnavailable",
    "ScriptedOpenAIServer",
    "ServiceProcess",
    "check_model",
    "toy_frame",
    "toy_media",
    "toy_paraphrases",
    "toy_reviews",
]
