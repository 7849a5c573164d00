#!/usr/bin/env bash
# Creates the peers' own virtual environments under benchmarks/.venvs/ (never part of
# assay's dependencies): AutoGluon 1.6.3 pins pandas<2.4, so each peer gets its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
venvs="$here/.venvs"
mkdir -p "$venvs"

make_env() {  # name, then pip requirements
  local name="$1"; shift
  local stamp="$venvs/$name/.installed"
  if [ -f "$stamp" ]; then echo "$name: ready"; return; fi
  test -x "$venvs/$name/bin/python" || "$py" -m venv "$venvs/$name"
  "$venvs/$name/bin/python" -m pip install --quiet "$@" pyarrow psutil
  touch "$stamp"
  echo "$name: installed"
}

# FLAML with the learners its automl extra brings (LightGBM, XGBoost, sklearn); no CatBoost,
# the configuration in which FLAML keeps to its budget.
make_env flaml "flaml[automl]==2.7.0"
make_env autogluon "autogluon.tabular[lightgbm,xgboost,catboost]==1.6.3"
