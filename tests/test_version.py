"""The version has one source, src/assay/_version.py: the installed package's metadata
(built from pyproject.toml) and `assay.__version__` must agree."""

from __future__ import annotations

import importlib.metadata
import re

import assay


def test_the_installed_metadata_reads_the_version_from_assay_version():
    assert importlib.metadata.version("assay") == assay.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", assay.__version__)
