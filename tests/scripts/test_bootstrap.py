"""scripts/bootstrap.sh installs once and skips pip on a restart when nothing changed; a new
extra or a changed pyproject.toml installs again; up.sh asks for the whole product by default.
The virtualenv's python is a stand-in that records what pip was asked to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1" = "--version" ]; then echo "Python 3.11.9"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "pip $*" >> "$(dirname "$0")/../pip.log"; fi
exit 0
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/bootstrap.sh", tmp_path / "scripts/bootstrap.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tmp_path


def _bootstrap(project: Path, extras: str) -> list[str]:
    log = project / ".venv/pip.log"
    log.unlink(missing_ok=True)
    subprocess.run(["bash", "scripts/bootstrap.sh", extras], cwd=project, check=True,
                   capture_output=True)  # fmt: skip
    return log.read_text().splitlines() if log.exists() else []


def test_restart_skips_pip_until_something_changes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _bootstrap(project, "ml,brokers")
    assert first == ["pip -m pip install --quiet -e .[ml,brokers]"]
    assert _bootstrap(project, "ml,brokers") == []  # restart: nothing to install
    assert _bootstrap(project, "ml") == ["pip -m pip install --quiet -e .[ml]"]
    with (project / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    assert _bootstrap(project, "ml") == ["pip -m pip install --quiet -e .[ml]"]
    assert _bootstrap(project, "") == ["pip -m pip install --quiet -e ."]


def test_up_installs_the_whole_product_by_default() -> None:
    text = (ROOT / "scripts/up.sh").read_text()
    assert 'bootstrap.sh "${QTS_EXTRAS-ml,rl,brokers,workers,data}"' in text
    extras = (ROOT / "pyproject.toml").read_text()
    for extra in ("ml", "rl", "brokers", "workers", "data"):
        assert f"\n{extra} = [" in extras
    assert 'license = "Apache-2.0"' in extras and "torch==2.13.0" in extras
