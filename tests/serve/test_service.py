"""`assay serve` started as a user starts it, on 127.0.0.1, and asked over real HTTP:
valid batches predict what the predictor predicts; bad requests get a 4xx naming the
column; /schema, /health, /metrics (Prometheus, all workers), /stats and the OpenAPI
document describe the service."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

httpx = pytest.importorskip("httpx", reason="the dev extra is not installed")
pytest.importorskip("fastapi", reason="the serve extra is not installed")

from assay.testing import ServiceProcess  # noqa: E402


@pytest.fixture(scope="module")
def service(saved_predictor):
    with ServiceProcess(saved_predictor[0]) as running:
        yield running.url


def _records(frame):
    return frame.drop(columns="churn").replace({np.nan: None}).to_dict(orient="records")


def test_json_batches_predict_what_the_predictor_predicts(service, saved_predictor, churn):
    _, predictor = saved_predictor
    rows = churn.head(50)
    answer = httpx.post(f"{service}/predict", params={"proba": "true"}, json=_records(rows))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["n_rows"] == 50 and body["ignored_columns"] == []
    assert body["predictions"] == list(predictor.predict(rows))
    assert body["classes"] == ["no", "yes"]
    np.testing.assert_allclose(body["probabilities"], predictor.predict_proba(rows), atol=1e-12)
    # the {"records": [...]} form, without probabilities
    wrapped = httpx.post(f"{service}/predict", json={"records": _records(rows.head(3))}).json()
    assert wrapped["predictions"] == body["predictions"][:3] and "probabilities" not in wrapped


def test_a_csv_body_predicts_the_same_and_reports_the_target_as_ignored(service, churn):
    rows = churn.head(20)
    csv = rows.to_csv(index=False)
    answer = httpx.post(f"{service}/predict", content=csv, headers={"content-type": "text/csv"})
    assert answer.status_code == 200, answer.text
    as_json = httpx.post(f"{service}/predict", json=_records(rows)).json()
    assert answer.json()["predictions"] == as_json["predictions"]
    assert answer.json()["ignored_columns"] == ["churn"]


def test_extra_columns_are_ignored_and_reported(service, churn):
    records = _records(churn.head(2))
    records[0]["favourite_colour"] = "blue"
    answer = httpx.post(f"{service}/predict", json=records)
    assert answer.status_code == 200
    assert answer.json()["ignored_columns"] == ["favourite_colour"]


@pytest.mark.parametrize(
    ("change", "status", "names"),
    [
        (lambda r: r.pop("age"), 422, "'age'"),
        (lambda r: r.update(age="forty"), 422, "Column 'age' takes a number"),
        (lambda r: r.update(income=[1, 2]), 422, "Column 'income'"),
        (lambda r: r.update(city={"name": "paris"}), 422, "Column 'city'"),
        (lambda r: r.update(joined="last tuesday"), 422, "Column 'joined' takes dates"),
        (lambda r: r.update(joined="2021-02-30"), 422, "Column 'joined'"),
    ],
    ids=["missing-column", "text-in-number", "list", "object", "not-a-date", "no-such-day"],
)
def test_bad_records_are_refused_naming_the_column(service, churn, change, status, names):
    records = _records(churn.head(3))
    change(records[1])
    answer = httpx.post(f"{service}/predict", json=records)
    assert answer.status_code == status, answer.text
    assert names in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b'{"age": 1}', "application/json", 422, "list of records"),
        (b"[1, 2]", "application/json", 422, "Record 0 is a int"),
        (b"<rows/>", "application/xml", 415, "application/json or text/csv"),
        (b"", "text/csv", 422, "empty"),
        (b"age,income\n1,2\n", "text/csv", 422, "'city'"),
        (b"age,income,city,vip,joined\nold,2,paris,1,2021-01-01\n", "text/csv", 422, "'age'"),
    ],
    ids=["bad-json", "object", "not-records", "xml", "empty-csv", "csv-missing", "csv-text"],
)
def test_bad_bodies_get_a_4xx_that_says_what_to_send(service, body, content_type, status, says):
    answer = httpx.post(f"{service}/predict", content=body, headers={"content-type": content_type})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]


def test_an_empty_batch_gets_empty_predictions(service):
    answer = httpx.post(f"{service}/predict", json=[])
    assert answer.status_code == 200 and answer.json()["predictions"] == []


def test_schema_health_metrics_and_openapi_describe_the_service(service, saved_predictor):
    folder, predictor = saved_predictor
    schema = httpx.get(f"{service}/schema").json()
    assert [f["name"] for f in schema["features"]] == list(predictor.schema.features)
    types = {f["name"]: f["type"] for f in schema["features"]}
    assert types["joined"] == "datetime" and types["city"] == "categorical"
    assert schema["record"]["required"] == list(predictor.schema.features)
    health = httpx.get(f"{service}/health").json()
    assert health["status"] == "ok" and health["model"] == str(folder.resolve())
    httpx.post(f"{service}/predict", json=[{"age": 1}])  # one more 422 to count
    metrics = httpx.get(f"{service}/stats").json()
    predict = metrics["routes"]["/predict"]
    assert predict["by_status"]["422"] >= 1 and predict["by_status"]["200"] >= 1
    assert 0 < predict["latency_ms"]["p50"] <= predict["latency_ms"]["p99"]
    assert metrics["rows_predicted"] >= 50
    document = httpx.get(f"{service}/openapi.json").json()
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    record = body["application/json"]["schema"]["items"]
    assert record["properties"]["age"]["type"] == ["number", "null"]


def _prometheus(url: str) -> dict[str, float]:
    """The service's Prometheus exposition, parsed by the client's own parser, as
    {"name{label=value,...}": value}."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_metrics_speak_the_prometheus_format(service):
    before = _prometheus(service)
    ok = "assay_requests_total{route=/predict,status=200}"
    refused = "assay_requests_total{route=/predict,status=422}"
    httpx.post(f"{service}/predict", json=[{"age": 1}])  # a 422
    after = _prometheus(service)
    assert after[refused] == before.get(refused, 0) + 1
    assert after[ok] == before.get(ok, 0)
    buckets = [k for k in after if k.startswith("assay_request_duration_seconds_bucket")]
    assert any("route=/predict" in k for k in buckets)
    assert after["assay_request_duration_seconds_count{route=/predict}"] >= after[refused]
    assert "assay_rows_predicted_total{}" in after


def test_two_worker_processes_serve_the_same_predictions(saved_predictor, churn):
    with ServiceProcess(saved_predictor[0], "--workers", "2") as running:
        rows = _records(churn.head(5))
        answers = [httpx.post(f"{running.url}/predict", json=rows).json() for _ in range(6)]
        assert all(a["predictions"] == answers[0]["predictions"] for a in answers)
        assert len(_children(running.proc.pid)) >= 2  # uvicorn starts two worker processes
        # whichever worker answers /metrics counts every worker's requests and rows
        for counted in [_prometheus(running.url) for _ in range(4)]:
            assert counted["assay_requests_total{route=/predict,status=200}"] == 6
            assert counted["assay_rows_predicted_total{}"] == 30


def _children(pid: int):
    import psutil

    return [c for c in psutil.Process(pid).children(recursive=True) if c.is_running()]


def test_a_bad_model_path_fails_before_the_port_opens(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "assay", "serve", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))  # fmt: skip
    assert proc.returncode == 3
    assert "nowhere" in proc.stderr and proc.stderr.count("\n") == 1


def test_predictions_file_layout_matches_assay_predict(service, churn, saved_predictor):
    """The service's labels and probabilities are the predictions file's columns."""
    _, predictor = saved_predictor
    rows = churn.iloc[100:130]
    frame = predictor.predictions_frame(rows)
    body = httpx.post(f"{service}/predict?proba=true", json=_records(rows)).json()
    assert body["predictions"] == frame["prediction"].tolist()
    got = np.asarray(body["probabilities"])
    np.testing.assert_allclose(got[:, 1], frame["proba_yes"], atol=1e-12)


def test_a_regression_predictor_answers_numbers_and_refuses_proba_quietly():
    """In-process (the app without uvicorn): a regression service returns plain floats and
    no probabilities even when asked."""
    from fastapi.testclient import TestClient
    from sklearn.datasets import load_diabetes

    from assay import AutoML
    from assay.serve import create_app

    frame = load_diabetes(as_frame=True).frame
    automl = AutoML(n_trials=1, models=["linear"], stack="off", store=False)
    automl.fit(frame, target="target")
    rows = frame.drop(columns="target").head(7)
    with TestClient(create_app(automl.predictor_)) as client:
        body = client.post("/predict?proba=true", json=rows.to_dict(orient="records")).json()
    assert "probabilities" not in body and body["n_rows"] == 7
    np.testing.assert_allclose(body["predictions"], automl.predictor_.predict(rows), rtol=1e-12)
