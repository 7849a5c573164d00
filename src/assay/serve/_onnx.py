"""Export a fitted Predictor to one ONNX file that predicts from raw columns.

The graph holds the whole pipeline: each fold's encoder written as ONNX operators, each fold's
model converted by its library's converter (onnxmltools, CatBoost, skl2onnx), the fold mean
and the ensemble weights. The file is checked against assay's own predictions before it is
put in place, so a file that exists predicts what assay predicts.

Inputs, one per raw feature column, each of shape [N, 1]:
- numeric columns: tensor(float), NaN for a missing value;
- categorical and boolean columns: tensor(string), each value written the way
  `assay.features._encoder.as_strings` writes it (integral numbers as ints: "3", not "3.0";
  booleans as "True"/"False"), and "" for a missing value. Unseen categories are encoded like
  a missing value, as in assay.
`onnx_feed` builds these inputs from a DataFrame.

Outputs: classification gives "probabilities" (float, [N, n_classes], in the order of
`predictor.classes`) and "label" ([N], int64 when the classes are integers, else string);
regression gives "prediction" (float, [N, 1]).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._atomic import atomic_open
from assay._types import Encoding, FeatureType
from assay.automl import Predictor
from assay.errors import AssayError, ExportError
from assay.features._encoder import _to_float, as_strings
from assay.log import get_logger

logger = get_logger(__name__)

SUPPORTED = ("lightgbm", "xgboost", "catboost", "linear", "random_forest", "extra_trees")
_INPUT_KINDS = {
    FeatureType.NUMERIC: "float",
    FeatureType.BOOLEAN: "string",
    FeatureType.CATEGORICAL: "string",
}
_OUTPUT_NAMES = ("probabilities", "label", "prediction")
_OPSET = {"": 15, "ai.onnx.ml": 3}  # the converters are pinned to these versions too
_MISSING = ""  # a missing value in a string input
_FLOAT, _DOUBLE = 1, 11  # onnx.TensorProto.FLOAT, DOUBLE (without importing onnx here)


@dataclass(frozen=True)
class OnnxExport:
    """What was written, and how closely it reproduces assay on the checked rows. For
    regression the differences are divided by the largest |prediction| (at least 1): the
    tree operators add up in float32, which cannot hold predictions of 1000 to 1e-4."""

    path: Path
    inputs: list[tuple[str, str]]
    outputs: list[str]
    n_rows_checked: int
    max_abs_diff: float


def export_onnx(
    predictor: Predictor,
    out: str | Path,
    *,
    check_rows: pd.DataFrame | None = None,
    tolerance: float = 1e-4,
) -> OnnxExport:
    """Write `predictor` to `out` as one ONNX model; refuse (ExportError) what ONNX cannot
    hold, and keep the file only when it agrees with assay on `check_rows` within
    `tolerance`."""
    _refuse(predictor)
    if check_rows is None or not len(check_rows):
        raise ExportError(
            "ONNX export: give rows to check the export against (check_rows; a few rows "
            "like the training rows will do)."
        )
    model = _build(predictor)
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = model.SerializeToString()
    except ValueError as exc:  # protobuf caps one file at 2 GB
        raise ExportError(
            f"ONNX export: the model is too large for one ONNX file ({exc}); refit with "
            "fewer or smaller members, or export --format mlflow."
        ) from exc
    with atomic_open(out) as staged:  # replaces `out` only if the block ends without error
        staged.write(data)
        staged.flush()
        try:
            diff = _max_diff(predictor, Path(staged.name), check_rows)
        except AssayError:  # e.g. check rows that lack a column
            raise
        except Exception as exc:  # onnxruntime refusing the graph: a bug to report
            raise ExportError(
                f"ONNX export: onnxruntime cannot run the exported model ({type(exc).__name__}:"
                f" {str(exc).splitlines()[0] if str(exc) else ''}); nothing was written. Export "
                "--format mlflow instead, and report this with the predictor."
            ) from exc
        if not diff <= tolerance:
            raise ExportError(
                f"ONNX export: the ONNX model differs from assay by up to {diff:.3g} on the "
                f"{len(check_rows)} rows checked (tolerance {tolerance:g}); nothing was "
                "written. Export --format mlflow instead, and report this with the predictor."
            )
    logger.info("Wrote %s (max difference %.3g on %d rows).", out, diff, len(check_rows))
    outputs = ["probabilities", "label"] if predictor.task.is_classification else ["prediction"]
    return OnnxExport(out, _inputs(predictor), outputs, len(check_rows), diff)


def onnx_feed(predictor: Predictor, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ONNX inputs for the raw rows in `frame`: the columns cleaned as assay cleans them
    (numbers coerced, inf -> NaN), then float32 or strings of shape [N, 1]."""
    from assay.data import check_predict_frame

    _refuse(predictor)
    X = check_predict_frame(frame, predictor.schema)
    feed = {}
    for name, kind in _inputs(predictor):
        if kind == "string":
            values = [_MISSING if pd.isna(v) else str(v) for v in as_strings(X[name])]
            feed[name] = np.array(values, dtype=object).reshape(-1, 1)
        else:
            feed[name] = _to_float(X[name]).astype(np.float32).reshape(-1, 1)
    return feed


def refusals(predictor: Predictor) -> list[str]:
    """Everything about `predictor` ONNX export cannot hold, each with what to do."""
    problems = []
    active = [(f"{m.model}#{i}", m) for i, m in enumerate(predictor.members) if m.weight > 0]
    stacked = [name for name, m in active if m.level != 1 or m.inputs]
    if stacked:
        problems.append(
            f"members {', '.join(stacked)} are stacked on other members' predictions: "
            "refit with --stack off"
        )
    others = [name for name, m in active if m.model not in SUPPORTED and name not in stacked]
    if others:
        problems.append(
            f"members {', '.join(others)} cannot be converted (only {', '.join(SUPPORTED)}): "
            f"refit with --models {','.join(SUPPORTED)} or export --format mlflow"
        )
    with_cats = [
        name
        for name, m in active
        if m.model == "catboost" and any(getattr(f, "cat_columns_", None) for f in m.models)
    ]
    if with_cats:
        problems.append(
            f"members {', '.join(with_cats)} are CatBoost models on categorical columns, "
            "which CatBoost's ONNX export cannot hold: refit without catboost or export "
            "--format mlflow"
        )
    schema = predictor.schema
    columns = [
        f"{n} ({schema[n].type.value})"
        for n in schema.features
        if schema[n].type not in _INPUT_KINDS
    ]
    if columns:
        problems.append(
            f"columns {', '.join(columns)} cannot be encoded in ONNX (only numeric, boolean and "
            "categorical columns): drop them before fitting or export --format mlflow"
        )
    if predictor.one_temperature is None:
        problems.append(
            "the predictor blends predictors with calibrations of their own (a research "
            "ensemble of experiments): export --format mlflow"
        )
    if predictor.derived is not None:
        problems.append(
            "the predictor uses derived features (from text, dates or column pairs): fit "
            "without those columns or export --format mlflow"
        )
    empty = sorted({n for _, m in active for e in m.encoders for n in _uses_empty_string(e)})
    if empty:
        problems.append(
            f"columns {', '.join(empty)} have the empty string as a value, which the ONNX "
            "inputs use for a missing value: replace it in the data and refit"
        )
    clashes = [n for n in schema.features if n in _OUTPUT_NAMES]
    if clashes:
        problems.append(
            f"columns {', '.join(clashes)} have the name of an ONNX output: rename them and refit"
        )
    return problems


def _refuse(predictor: Predictor) -> None:
    problems = refusals(predictor)
    if problems:
        raise ExportError("ONNX export: " + "; ".join(problems) + ".")


def _uses_empty_string(encoder: Any) -> list[str]:
    """Columns where "" is a learned value, so it cannot also stand for a missing one."""
    names = []
    for name, spec in encoder.state_.items():
        values = spec["categories"] if spec["kind"] == "cat" else []
        if spec["kind"] == FeatureType.BOOLEAN.value:
            values = [spec["parts"]["true"]]
        if _MISSING in values:
            names.append(name)
    return names


def _inputs(predictor: Predictor) -> list[tuple[str, str]]:
    schema = predictor.schema
    return [(name, _INPUT_KINDS[schema[name].type]) for name in schema.features]


class _Graph:
    """Nodes and constants of the graph being built, with unique tensor names."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self.opsets = dict(_OPSET)
        self.cache: dict[tuple, str] = {}
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"assay.{self._count}.{hint}"

    def const(self, value: Any, dtype: Any = np.float64) -> str:
        from onnx import numpy_helper

        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.fresh(op_type)
        node = helper.make_node(op_type, list(inputs), [out], self.fresh(op_type), domain=domain)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
        self.nodes.append(node)
        return out

    def absorb(self, model: Any, feed: str) -> list[str]:
        """Append a converted model whose only input is fed by tensor `feed`; returns the
        names of its outputs."""
        from onnx import compose, helper

        model = compose.add_prefix(model, self.fresh("model") + "/")
        graph = model.graph
        self.nodes.append(helper.make_node("Identity", [feed], [graph.input[0].name]))
        self.nodes.extend(graph.node)
        self.initializers.extend(graph.initializer)
        for opset in model.opset_import:
            domain = "" if opset.domain in ("", "ai.onnx") else opset.domain
            self.opsets[domain] = max(self.opsets.get(domain, 0), opset.version)
        return [output.name for output in graph.output]


def _numeric(g: _Graph, name: str) -> str:
    """A numeric input as double, non-finite values as NaN (as assay reads them)."""
    if ("num", name) not in g.cache:
        x = g.op("Cast", name, to=_DOUBLE)
        g.cache["num", name] = g.op("Where", g.op("IsInf", x), g.const(np.nan), x)
    return g.cache["num", name]


def _lookup(
    g: _Graph, name: str, keys: list[str], values: Sequence[float], default: float, missing: float
) -> str:
    """A string input mapped to doubles: `default` for unseen values, `missing` for ""."""
    keys, values = [*keys, _MISSING], [*values, missing]
    key = ("lookup", name, tuple(keys), tuple(map(repr, values)))
    if key not in g.cache:
        floats = g.op(
            "LabelEncoder",
            name,
            domain="ai.onnx.ml",
            keys_strings=keys,
            values_floats=[float(v) for v in values],
            default_float=float(default),
        )
        g.cache[key] = g.op("Cast", floats, to=_DOUBLE)
    return g.cache[key]


def _encoded(g: _Graph, encoder: Any, to: int) -> str:
    """One fold's TabularEncoder as ONNX ops: the matrix its model was fitted on."""
    numeric, cats = [], []
    for name, spec in encoder.state_.items():
        if spec["kind"] == "cat":
            cats.append((name, list(spec["categories"])))
        elif spec["kind"] == FeatureType.BOOLEAN.value:
            numeric.append(_lookup(g, name, [spec["parts"]["true"]], [1.0], 0.0, np.nan))
        else:
            numeric.append(_numeric(g, name))
    codes = {name: list(range(len(categories))) for name, categories in cats}
    if encoder.encoding is Encoding.NATIVE:  # numbers with NaN, then category codes with NaN
        blocks = numeric + [_lookup(g, n, c, codes[n], np.nan, np.nan) for n, c in cats]
    else:
        blocks = []
        if numeric:
            matrix = g.op("Concat", *numeric, axis=1)
            missing = g.op("IsNaN", matrix)
            filled = g.op("Where", missing, g.const([encoder.numeric_["medians"]]), matrix)
            blocks.append(filled)
        if encoder.encoding is Encoding.ORDINAL:
            blocks += [_lookup(g, n, c, codes[n], -1.0, -1.0) for n, c in cats]
        elif numeric:  # ONEHOT: standardized numbers, missing indicators, one-hot categories
            centred = g.op("Sub", filled, g.const([encoder.numeric_["means"]]))
            scaled = g.op("Div", centred, g.const([encoder.numeric_["stds"]]))
            blocks[0] = g.op("Clip", scaled, g.const(-10.0), g.const(10.0))
            names = encoder.numeric_["names"]
            idx = [names.index(n) for n in encoder.numeric_["indicators"]]
            if idx:
                flags = g.op("Gather", missing, g.const(idx, np.int64), axis=1)
                blocks.append(g.op("Cast", flags, to=_DOUBLE))
        if encoder.encoding is Encoding.ONEHOT:
            for n, c in cats:
                code = _lookup(g, n, c, codes[n], -1.0, -1.0)
                hits = g.op("Equal", code, g.const([codes[n]]))
                blocks.append(g.op("Cast", hits, to=_DOUBLE))
    return g.op("Cast", g.op("Concat", *blocks, axis=1), to=to)


def _converted(model: Any, n_features: int, classification: bool) -> tuple[Any, int]:
    """A fold's fitted estimator as an ONNX model with one input, and that input's type."""
    estimator = model.model_
    if model.name in ("lightgbm", "xgboost"):
        from onnxmltools.convert import convert_lightgbm, convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("input", FloatTensorType([None, n_features]))]
        if model.name == "lightgbm":
            return convert_lightgbm(estimator, initial_types=types, target_opset=15,
                                    zipmap=False), _FLOAT  # fmt: skip
        return convert_xgboost(estimator, initial_types=types, target_opset=15), _FLOAT
    if model.name == "catboost":
        return _catboost(estimator), _FLOAT
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    # linear models in double, as assay runs them; scikit-learn's trees compare float32
    # values, which skl2onnx's float thresholds reproduce (and its double ones slowly)
    to = _DOUBLE if model.name == "linear" else _FLOAT
    tensor = (DoubleTensorType if to == _DOUBLE else FloatTensorType)([None, n_features])
    options = {id(estimator): {"zipmap": False}} if classification else None
    onnx_model = convert_sklearn(
        estimator, initial_types=[("input", tensor)], target_opset=_OPSET, options=options
    )
    return onnx_model, to


def _catboost(estimator: Any) -> Any:
    """CatBoost's own ONNX export, its probabilities as a tensor rather than a ZipMap."""
    import onnx

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        estimator.save_model(str(path), format="onnx")
        model = onnx.load(str(path))
    zipmap = next((n for n in model.graph.node if n.op_type == "ZipMap"), None)
    if zipmap is not None:
        model.graph.node.remove(zipmap)
        del model.graph.output[:]
        model.graph.output.append(onnx.helper.make_tensor_value_info(zipmap.input[0], _FLOAT, None))
    return model


def _fold(g: _Graph, encoder: Any, model: Any, n_classes: int, first_input: str) -> str:
    """One fold's raw prediction as doubles: [N, n_classes] probabilities placed in the
    predictor's class columns, or [N, 1] values."""
    classification = n_classes > 0
    if classification and model.model_ is None:  # a fold that saw one class predicts it
        row = np.zeros((1, n_classes))
        row[0, int(model.classes_[0])] = 1.0
        n_rows = g.op("Shape", first_input, start=0, end=1)
        shape = g.op("Concat", n_rows, g.const([n_classes], np.int64), axis=0)
        return g.op("Expand", g.const(row), shape)
    onnx_model, to = _converted(model, int(model.n_features_in_), classification)
    out = g.op("Cast", g.absorb(onnx_model, _encoded(g, encoder, to))[-1], to=_DOUBLE)
    if not classification:
        return g.op("Reshape", out, g.const([-1, 1], np.int64))
    seen = np.asarray(model.classes_, dtype=int)
    if np.array_equal(seen, np.arange(n_classes)):
        return out
    place = np.zeros((len(seen), n_classes))  # the fold's columns into all classes' columns
    place[np.arange(len(seen)), seen] = 1.0
    return g.op("MatMul", out, g.const(place))


def _build(predictor: Predictor) -> Any:
    """The whole predictor as one ONNX model (refusals already checked)."""
    import onnx
    from onnx import helper

    g = _Graph()
    inputs = _inputs(predictor)
    classes = predictor.classes if predictor.task.is_classification else None
    n_classes = 0 if classes is None else len(classes)
    terms = []
    for i, member in enumerate(predictor.members):
        if member.weight <= 0:
            continue
        folds = []
        for encoder, model in zip(member.encoders, member.models, strict=True):
            try:
                folds.append(_fold(g, encoder, model, n_classes, inputs[0][0]))
            except Exception as exc:  # a converter failing on one booster: name the member
                raise ExportError(
                    f"ONNX export: member {member.model}#{i} could not be converted "
                    f"({type(exc).__name__}: {exc}); export --format mlflow instead."
                ) from exc
        mean = g.op("Div", g.op("Sum", *folds), g.const(float(len(folds))))
        terms.append(g.op("Mul", mean, g.const(float(member.weight))))
    total = g.op("Sum", *terms)
    temperature = predictor.one_temperature or 1.0  # refusals() held back blends of parts
    if classes is not None and temperature != 1.0:  # as assay.ensemble.tempered
        logs = g.op("Log", g.op("Clip", total, g.const(1e-15)))
        total = g.op("Softmax", g.op("Div", logs, g.const(temperature)), axis=1)
    if classes is not None:
        labels: np.ndarray = np.asarray(classes)
        if labels.dtype.kind in "iu":
            labels, label_type = labels.astype(np.int64), onnx.TensorProto.INT64
        else:
            labels = np.array([str(c) for c in classes], dtype=object)
            label_type = onnx.TensorProto.STRING
        g.nodes.append(helper.make_node("Cast", [total], ["probabilities"], to=_FLOAT))
        best = g.op("ArgMax", total, axis=1, keepdims=0)
        g.nodes.append(helper.make_node("Gather", [g.const(labels, labels.dtype), best], ["label"]))
        outputs = [
            helper.make_tensor_value_info("probabilities", _FLOAT, ["N", n_classes]),
            helper.make_tensor_value_info("label", label_type, ["N"]),
        ]
    else:
        g.nodes.append(helper.make_node("Cast", [total], ["prediction"], to=_FLOAT))
        outputs = [helper.make_tensor_value_info("prediction", _FLOAT, ["N", 1])]
    graph_inputs = [
        helper.make_tensor_value_info(
            name, _FLOAT if kind == "float" else onnx.TensorProto.STRING, ["N", 1]
        )
        for name, kind in inputs
    ]
    graph = helper.make_graph(g.nodes, "assay_predictor", graph_inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid(domain, version) for domain, version in g.opsets.items()]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="assay")
    # the oldest IR version the opsets allow, so older runtimes load the file
    model.ir_version = helper.find_min_ir_version_for(opsets, ignore_unknown=True)
    model.doc_string = (__doc__ or "").split("Inputs,", 1)[-1].strip()
    helper.set_model_props(model, {"task": predictor.task.value, "target": str(predictor.target)})
    return model


def _max_diff(predictor: Predictor, path: Path, rows: pd.DataFrame) -> float:
    """The largest difference between the ONNX file's and assay's predictions on `rows`
    (regression: relative to the largest |prediction|, at least 1); inf where only one
    side is NaN."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = "probabilities" if predictor.task.is_classification else "prediction"
    got = session.run([name], onnx_feed(predictor, rows))[0].astype(np.float64)
    if predictor.task.is_classification:
        want = predictor.predict_proba(rows).to_numpy(dtype=np.float64)
        diff = np.abs(got - want)
    else:
        want = np.asarray(predictor.predict(rows), dtype=np.float64)
        diff = np.abs(got[:, 0] - want) / max(1.0, float(np.nanmax(np.abs(want), initial=0)))
    diff = np.where(np.isnan(got.reshape(want.shape)) != np.isnan(want), np.inf, diff)
    return float(np.nan_to_num(diff, nan=0.0).max(initial=0.0))
