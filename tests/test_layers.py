"""The layer check (scripts/check_layers.py, run by `make lint`): the real tree passes, and a
planted tree with imports the wrong way, hidden in functions, under TYPE_CHECKING, relative
or dynamic, fails with each one named by file and line."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check_layers():
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts/check_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plant(root: Path, files: dict[str, str]) -> Path:
    package = root / "assay"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return package


CLEAN = {
    "__init__.py": "from assay._version import __version__\n",
    "_version.py": "__version__ = '0'\n",
    "errors.py": "",
    "models/__init__.py": "from assay.models._net import fit\n",
    "models/_net.py": """\
        from assay import errors
        from assay.errors import *

        from .. import _version


        def fit():
            import assay.errors
        """,
    "discover/__init__.py": "import assay.models\nfrom assay import discover\n",
    "research/__init__.py": "import assay\n",
    "cli/__init__.py": "",
}


def test_the_source_tree_keeps_its_layers_one_way():
    violations = _check_layers().check(ROOT / "src" / "assay")
    assert violations == [], "\n".join(map(str, violations))


def test_a_clean_planted_tree_passes(tmp_path):
    layers = _check_layers()
    package = _plant(tmp_path, CLEAN)
    assert layers.check(package) == []
    assert layers.main([str(package)]) == 0


def test_imports_the_wrong_way_are_named_by_file_and_line(tmp_path, capsys):
    layers = _check_layers()
    package = _plant(
        tmp_path,
        {
            **CLEAN,
            "models/_mlp.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from assay.research import Loop


                def activation(name):
                    from assay.discover._spec import Kind

                    return Kind
                """,
            "automl/__init__.py": "",
            "automl/_manifest.py": """\
                import importlib


                def versions():
                    import assay

                    return assay.__version__


                def fit():
                    from .. import AutoML
                    from ..serve import app
                    from assay import cli

                    return importlib.import_module("assay.llm._openai")
                """,
        },
    )
    found = {
        (v.path.relative_to(package).as_posix(), v.line, v.layer, v.module)
        for v in layers.check(package)
    }
    assert found == {
        ("models/_mlp.py", 4, "models", "assay.research"),
        ("models/_mlp.py", 8, "models", "assay.discover._spec"),
        ("automl/_manifest.py", 5, "automl", "assay"),
        ("automl/_manifest.py", 11, "automl", "assay"),
        ("automl/_manifest.py", 12, "automl", "assay.serve"),
        ("automl/_manifest.py", 13, "automl", "assay.cli"),
        ("automl/_manifest.py", 15, "automl", "assay.llm._openai"),
    }
    assert layers.main([str(package)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert any(
        line.endswith("models/_mlp.py:8: models imports assay.discover._spec") for line in printed
    )
    assert printed[-1].startswith("7 import(s) from the core")
