"""The design's ops scripts (`start`, `train_model`, `deploy_model`) reach the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env.update({"QTS_BIN": f"{sys.executable} -m qts.cli", "QTS_DATA_DIR": str(tmp)})
    return subprocess.run([str(REPO / "scripts" / script), *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_scripts_print_usage_without_arguments(tmp_path: Path) -> None:
    for script in ("train_model.sh", "deploy_model.sh"):
        r = _run(script, tmp=tmp_path)
        assert r.returncode == 2 and "usage:" in r.stderr
    r = _run("start.sh", "kubernetes", tmp=tmp_path)
    assert r.returncode == 2 and "usage:" in r.stderr


def test_train_model_passes_its_arguments_to_qts_train(tmp_path: Path) -> None:
    r = _run("train_model.sh", "xgboost", "005930", tmp=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "xgboost" in r.stderr and "lightgbm" in r.stderr  # qts train lists the models


def test_deploy_model_promotes_through_the_gate(tmp_path: Path) -> None:
    r = _run("deploy_model.sh", "no-such-model", "1", tmp=tmp_path)
    assert r.returncode != 0
    assert "no-such-model" in r.stdout + r.stderr
