"""Which symbols a news item is about when its source does not say.

Ticker mentions (`$AAPL`, `(005930)`, `005930.KS`) and company names: the names of the
`symbols` table plus a small alias list of Korean and English names. Names match whole
(no letter or digit glued on either side), longest first, ignoring case; a Korean name may be
followed by a particle (`삼성전자가`, `SK하이닉스는`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Common names of the shipped and most traded stocks; the symbols table's names add to these.
ALIASES: dict[str, str] = {
    "삼성전자": "005930", "삼성전자우": "005935", "Samsung Electronics": "005930",
    "SK하이닉스": "000660", "하이닉스": "000660", "SK hynix": "000660",
    "현대차": "005380", "현대자동차": "005380", "Hyundai Motor": "005380",
    "네이버": "035420", "NAVER": "035420",
    "LG화학": "051910", "LG Chem": "051910",
    "카카오": "035720", "Kakao": "035720",
    "Apple": "AAPL", "Microsoft": "MSFT", "Nvidia": "NVDA", "Tesla": "TSLA",
    "Amazon": "AMZN", "Alphabet": "GOOG", "Google": "GOOG", "Meta Platforms": "META",
    "Coca-Cola": "KO", "PepsiCo": "PEP", "Costco": "COST", "Nike": "NKE", "Merck": "MRK",
}  # fmt: skip
_TICKERS = re.compile(
    r"\$(?P<cashtag>[A-Z]{1,5}(?:[.-][A-Z])?)(?![A-Za-z])"
    r"|\((?P<krx>\d{6})\)"
    r"|(?<!\d)(?P<suffixed>\d{6})\.K[SQ](?![A-Za-z])"
)
_SUFFIX = re.compile(
    r"([\s,]+(inc\.?|corp\.?|corporation|co\.?,?\s*ltd\.?|ltd\.?|plc|company|class [a-c])"
    r"|\s*\(주\)|\s*주식회사)+$",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^(\(주\)|주식회사)\s*")


def company_name(name: str) -> str:
    """A listed name without its legal form: `Apple Inc.` → `Apple`, `(주)카카오` → `카카오`."""
    return _PREFIX.sub("", _SUFFIX.sub("", name.strip())).strip()


class SymbolMatcher:
    """Finds symbols in text; `names` maps company names to symbols (the symbols table)."""

    def __init__(
        self, names: Mapping[str, str] | None = None, aliases: Mapping[str, str] = ALIASES
    ) -> None:
        by_name: dict[str, str] = {k.casefold(): v for k, v in aliases.items()}
        ambiguous: set[str] = set()
        table: dict[str, str] = {}
        for raw, symbol in (names or {}).items():
            name = company_name(raw).casefold()
            if len(name) < 2 or name.isdigit():
                continue
            if table.get(name, symbol) != symbol:
                ambiguous.add(name)  # one name, two symbols: say nothing rather than guess
            table[name] = symbol
        by_name.update({k: v for k, v in table.items() if k not in ambiguous})
        self._by_name = by_name
        alternatives = "|".join(re.escape(n) for n in sorted(by_name, key=len, reverse=True))
        self._names = (
            re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)
            if alternatives
            else None
        )

    def symbols_in(self, text: str) -> list[str]:
        found: dict[str, None] = {}
        for match in _TICKERS.finditer(text):
            found[next(v for v in match.groupdict().values() if v)] = None
        if self._names is not None:
            for match in self._names.finditer(text):
                symbol = self._by_name.get(match.group(0).casefold())
                if symbol:
                    found[symbol] = None
        return list(found)


def map_symbols(items: Iterable[dict[str, Any]], matcher: SymbolMatcher) -> int:
    """Fill the symbols of items that have none from their headline and body (news_items rows,
    symbols in `,A,B,` form); returns how many items got symbols."""
    mapped = 0
    for item in items:
        if item.get("symbols"):
            continue
        symbols = matcher.symbols_in(f"{item.get('headline', '')}\n{item.get('body', '')}")
        if symbols:
            item["symbols"] = "," + ",".join(symbols) + ","
            mapped += 1
    return mapped
