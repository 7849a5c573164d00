"""Reading, typing and checking tabular data before any model sees it."""

from assay.data._benchmarks import BenchmarkSpec, benchmark_datasets, load_benchmark
from assay.data._builtin import BUILTINS
from assay.data._dataset import Dataset, prepare
from assay.data._load import FileFormat, read_table
from assay.data._pairs import check_text_pairs, detect_text_pairs
from assay.data._schema import ColumnSchema, Schema, infer_schema
from assay.data._task import infer_task
from assay.data._validate import check_predict_frame

__all__ = [
    "BUILTINS",
    "BenchmarkSpec",
    "ColumnSchema",
    "Dataset",
    "FileFormat",
    "Schema",
    "benchmark_datasets",
    "check_predict_frame",
    "check_text_pairs",
    "detect_text_pairs",
    "infer_schema",
    "infer_task",
    "load_benchmark",
    "prepare",
    "read_table",
]
