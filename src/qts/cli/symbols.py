"""A run's symbols from the command line: `--symbol S`, `--symbols A,B,C` or `--universe FILE`."""

from __future__ import annotations

from pathlib import Path


def symbols_option(symbol: str | None, symbols: str | None, universe: Path | None) -> str | None:
    """`--symbol S`, `--symbols A,B,C` or `--universe FILE` (symbols separated by commas,
    spaces or lines; `#` starts a comment) as one comma-separated text: a multi-symbol run
    is one portfolio with shared cash."""
    from qts.core.errors import ValidationError

    given = [x for x in (symbol, symbols, universe) if x is not None]
    if len(given) > 1:
        raise ValidationError("give one of --symbol, --symbols and --universe")
    if universe is not None:
        if not universe.is_file():
            raise ValidationError(f"universe file not found: {universe}")
        lines = [line.split("#")[0] for line in universe.read_text().splitlines()]
        names = " ".join(lines).replace(",", " ").split()
        if not names:
            raise ValidationError(f"universe file {universe} names no symbol")
        return ",".join(dict.fromkeys(names))
    return symbols if symbols is not None else symbol
