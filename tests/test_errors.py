"""Errors: all in assay.errors, each under the built-in that user code catches."""

import ast
import builtins
import importlib
from pathlib import Path

import pandas as pd
import pytest

import assay
from assay import AutoML
from assay.errors import AssayError, ConfigError, DataError, NotFittedError
from assay.forecast import Forecaster

SRC = Path(assay.__file__).parent
ERRORS = SRC / "errors.py"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": range(40), "y": [0, 1] * 20})


def test_a_bad_argument_is_a_value_error():
    with pytest.raises(ValueError, match="time_limit_s=-1") as caught:
        AutoML(time_limit_s=-1, store=False).fit(_frame(), target="y")
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, AssayError)


def test_bad_data_is_a_value_error():
    with pytest.raises(ValueError, match="not_there") as caught:
        AutoML(store=False).fit(_frame(), target="not_there")
    assert isinstance(caught.value, DataError)


def test_predict_before_fit_is_not_fitted_like_scikit_learn():
    with pytest.raises(NotFittedError, match="not fitted") as caught:
        AutoML().predict(_frame())
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, AttributeError)
    assert isinstance(caught.value, AssayError)
    assert caught.value.exit_code == 3


def test_forecast_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        Forecaster(horizon=2).predict()


def test_the_errors_users_catch_are_public():
    assert assay.errors.NotFittedError is NotFittedError
    assert assay.ConfigError is ConfigError
    from assay import AssayError as public

    assert public is AssayError


def test_the_wrappers_not_fitted_error_is_scikit_learns_too_and_crosses_processes():
    import pickle

    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    from assay import AutoClassifier

    with pytest.raises(SklearnNotFittedError) as caught:
        AutoClassifier().predict(pd.DataFrame({"x": [1.0]}))
    assert isinstance(caught.value, NotFittedError)
    again = pickle.loads(pickle.dumps(caught.value))  # as a worker process sends it back
    assert type(again) is type(caught.value) is assay.errors.UnfittedEstimatorError
    assert str(again) == str(caught.value)


# -- every exception class is defined in assay/errors.py -------------------------------------
def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted path it was imported as."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):  # Generic[T]
        return _dotted(node.value)
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else None


def _outside_object(dotted: str) -> object:
    """What a dotted path outside assay names, importing the longest module prefix; None
    for a local variable's attribute (`nn = torch.nn` then `class Net(nn.Module)`)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def exception_classes(root: Path) -> list[tuple[Path, str]]:
    """(file, class name) of every class statement under `root`, nested ones included,
    whose bases lead to BaseException: through built-ins, other classes under `root`
    (matched by name) or classes imported from outside."""
    classes = []  # (file, name, base paths)
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imported_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = []
                for base in node.bases:
                    dotted = _dotted(base)
                    if dotted is not None:
                        head, _, rest = dotted.partition(".")
                        full = imported.get(head, head)
                        bases.append(f"{full}.{rest}" if rest else full)
                classes.append((path, node.name, bases))

    def outside_exception(dotted: str) -> bool:
        value = _outside_object(dotted) if "." in dotted else getattr(builtins, dotted, None)
        return isinstance(value, type) and issubclass(value, BaseException)

    ours = {name for _, name, _ in classes}
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for _, name, bases in classes:
            if name in found:
                continue
            for base in bases:
                last = base.rsplit(".", 1)[-1]
                inside = base.startswith("assay.") or (base == last and last in ours)
                if (last in found) if inside else outside_exception(base):
                    found.add(name)
                    changed = True
                    break
    return [(path, name) for path, name, _ in classes if name in found]


def test_no_exception_class_is_defined_outside_errors_py():
    classes = exception_classes(SRC)
    assert {name for path, name in classes if path == ERRORS} >= {
        "AssayError",
        "NotFittedError",
        "TrialTimeout",
        "RequestError",
    }
    outside = [f"{path.relative_to(SRC)}: {name}" for path, name in classes if path != ERRORS]
    assert outside == [], f"define these in assay/errors.py: {outside}"


def test_the_scan_finds_exception_classes_however_they_are_written(tmp_path):
    (tmp_path / "errors.py").write_text("class Base(Exception): ...\n")
    (tmp_path / "a.py").write_text(
        "import socket\nfrom json import JSONDecodeError as JSONError\n"
        "from .errors import Base\n"
        "class Local(Base): ...\n"
        "class Chained(Local): ...\n"
        "class Dotted(socket.timeout): ...\n"
        "class Aliased(JSONError): ...\n"
        "def f():\n    class Nested(KeyError): ...\n"
        "class Plain(dict): ...\n"
    )
    names = {name for _, name in exception_classes(tmp_path)}
    assert names == {"Base", "Local", "Chained", "Dotted", "Aliased", "Nested"}
