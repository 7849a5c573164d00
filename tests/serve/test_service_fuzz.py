"""The service fuzzed from its own OpenAPI document (schemathesis): no request may get a
500, every answer matches the documented status codes, content types and schemas, JSON the
document allows is accepted and JSON it forbids is refused. A CSV body is a plain string to
the document, so for it only the positive check (valid data accepted) is left out."""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the dev extra is not installed")
pytest.importorskip("fastapi", reason="the serve extra is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

N_EXAMPLES = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "150"))


def test_no_request_breaks_the_service(saved_predictor):
    from assay.serve import create_app

    folder, predictor = saved_predictor
    app = create_app(predictor, model_path=folder)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /predict", "GET /schema", "GET /metrics"}
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def fuzz(case):
            excluded = [positive_data_acceptance] if case.media_type == "text/csv" else []
            case.call_and_validate(excluded_checks=excluded)

        fuzz()
