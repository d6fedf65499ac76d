"""The YAML profiles and model configs ship inside the package (a wheel has no repo root);
the copies under configs/ are the ones users edit, and must not drift from the shipped ones."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_configs_equal_the_repository_copies() -> None:
    for sub in ("", "models"):
        repo = sorted((ROOT / "configs" / sub).glob("*.yaml"))
        shipped = ROOT / "src" / "qts" / "configs" / sub
        assert repo, f"no YAML files in configs/{sub}"
        for path in repo:
            assert (shipped / path.name).read_text() == path.read_text(), path.name
