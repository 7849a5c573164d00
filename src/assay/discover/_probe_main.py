"""The script `validate` runs inside the sandbox for LLM-written code: it reads
inputs/hypothesis.json, runs the static and numeric checks here (so a hang or a crash
ends this process, not the caller), and writes outputs/validation.json.

It loads only `_spec` and `_validate`, not the whole `assay.discover` package (its
`__init__` pulls in the loop, the LLM generator and the research harness): the import
time counts against the validation's time limit."""

import json
import sys
import types
from pathlib import Path


def main() -> int:
    import assay

    if "assay.discover" not in sys.modules:  # a bare package: skip its heavy __init__
        package = types.ModuleType("assay.discover")
        package.__path__ = [str(Path(assay.__file__).parent / "discover")]
        sys.modules["assay.discover"] = package
    from assay.discover._spec import Hypothesis
    from assay.discover._validate import validate

    hypothesis = Hypothesis.from_dict(json.loads(Path("inputs/hypothesis.json").read_text()))
    result = validate(hypothesis)
    Path("outputs/validation.json").write_text(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
