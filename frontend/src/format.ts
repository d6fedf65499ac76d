// Number and money formats: KRW has no minor unit (₩1,234,567), USD two decimals ($1,234.56);
// crypto quote currencies pegged to the dollar show as dollars.

const DOLLAR_LIKE = new Set(["USD", "USDT", "USDC", "BUSD"]);

// Intl formatters are costly to build (a table row uses several): keep one per locale and options.
const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function numberFormat(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(opts)}`;
  let f = numberFormats.get(key);
  if (!f) numberFormats.set(key, (f = new Intl.NumberFormat(locale, opts)));
  return f;
}

function dateFormat(locale: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(opts)}`;
  let f = dateFormats.get(key);
  if (!f) dateFormats.set(key, (f = new Intl.DateTimeFormat(locale, opts)));
  return f;
}

export function currencyOf(symbol: string, exchange?: string | null): string {
  if (exchange === "XKRX" || /^\d{6}$/.test(symbol)) return "KRW";
  const quote = symbol.includes("/") ? symbol.split("/")[1] : "USD";
  return quote === "KRW" ? "KRW" : "USD";
}

export function formatMoney(value: number | null | undefined, currency: string, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const code = DOLLAR_LIKE.has(currency) ? "USD" : currency;
  const digits = code === "KRW" || code === "JPY" ? 0 : 2;
  return numberFormat(locale, {
    style: "currency",
    currency: code,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatNumber(value: number | null | undefined, locale: string, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return numberFormat(locale, { maximumFractionDigits: digits }).format(value);
}

/** A score such as a sentiment in [-1, 1], signed ("+0.62", "−0.41"); "—" when absent. */
export function formatSigned(value: number | null | undefined, locale: string, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return numberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: "exceptZero" }).format(value);
}

export function formatPercent(value: number | null | undefined, locale: string, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return numberFormat(locale, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return dateFormat(locale, { dateStyle: "short", timeStyle: "medium" }).format(d);
}

export function formatDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return dateFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

/** Profit green / loss red class. */
export function pnlClass(v: number | null | undefined): string {
  if (!v) return "";
  return v > 0 ? "pos" : "neg";
}
