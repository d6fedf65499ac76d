"""Start-up logs say what qts did, not what Alembic did (finding 9: 13 INFO lines before)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

START = (
    "from qts.config import get_settings\n"
    "from qts.observability.logging_setup import configure_logging\n"
    "from qts.api.server import prepare\n"
    "configure_logging('INFO', False)\n"
    "prepare(get_settings())\n"
)


def test_first_start_logs_no_alembic_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env["QTS_DATA_DIR"] = str(tmp_path / "var")
    out = subprocess.run([sys.executable, "-c", START], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines and all("alembic" not in line for line in lines)
    assert len(lines) == 1 and "loaded sample data" in lines[0]
