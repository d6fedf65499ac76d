// Number and money formats: KRW has no minor unit (₩1,234,567), USD two decimals ($1,234.56);
// crypto quote currencies pegged to the dollar show as dollars.

const DOLLAR_LIKE = new Set(["USD", "USDT", "USDC", "BUSD"]);

export function currencyOf(symbol: string, exchange?: string | null): string {
  if (exchange === "XKRX" || /^\d{6}$/.test(symbol)) return "KRW";
  const quote = symbol.includes("/") ? symbol.split("/")[1] : "USD";
  return quote === "KRW" ? "KRW" : "USD";
}

export function formatMoney(value: number | null | undefined, currency: string, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const code = DOLLAR_LIKE.has(currency) ? "USD" : currency;
  const digits = code === "KRW" || code === "JPY" ? 0 : 2;
  return new Intl.NumberFormat(locale, {
    style: "currency",
    currency: code,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatNumber(value: number | null | undefined, locale: string, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
}

export function formatPercent(value: number | null | undefined, locale: string, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(locale, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" }).format(d);
}

export function formatDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

/** Profit green / loss red class. */
export function pnlClass(v: number | null | undefined): string {
  if (!v) return "";
  return v > 0 ? "pos" : "neg";
}
