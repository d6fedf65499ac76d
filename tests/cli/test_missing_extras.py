"""A command that needs an extra which is not installed says which one in one line (exit 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qts.cli.guard import EXIT_MISSING_EXTRA
from qts.cli.main import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "src/qts/sample_data/kr_daily/005930.csv"

CASES = [
    ("mlflow", "ml", ["models", "list"]),
    ("optuna", "ml", ["optimize", "--strategy", "sma_cross", "--data", str(SAMPLE),
                      "--method", "optuna", "--trials", "2", "--folds", "0"]),
    ("ccxt", "brokers", ["data", "fetch", "--provider", "ccxt", "--symbol", "BTC/USDT",
                         "--since", "2024-01-01"]),
    ("lightgbm", "ml", ["train", "--model", "lightgbm", "--symbols", "005930", "--folds", "2"]),
]  # fmt: skip


@pytest.mark.parametrize(("module", "extra", "argv"), CASES, ids=[c[0] for c in CASES])
def test_missing_extra_is_named_in_one_line(
    module: str, extra: str, argv: list[str], fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails as if absent
    r = runner.invoke(app, argv)
    assert r.exit_code == EXIT_MISSING_EXTRA, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output
    command = "qts " + " ".join(w for w in argv[:2] if not w.startswith("-"))
    assert lines[0].startswith(f"error: {command} needs the '{extra}' extra ({module} is not")
    assert f"pip install 'qts[{extra}]'" in lines[0]


def test_a_missing_module_of_no_extra_is_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    from qts.cli.guard import guarded

    def broken() -> None:
        import qts_no_such_module  # type: ignore[import-not-found]  # noqa: F401

    with pytest.raises(ModuleNotFoundError):
        guarded(broken)()
