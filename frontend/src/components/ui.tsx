import { useEffect, useRef, type ReactNode } from "react";
import { useI18n } from "../i18n";

export function Card({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={id}>
      <header className="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Loading() {
  const { t } = useI18n();
  return <p className="muted" aria-live="polite">{t("loading")}</p>;
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {msg}
    </p>
  );
}

export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge badge-${value}`}>{value}</span>;
}

/** A modal confirmation built on <dialog> (focus trapped, Esc cancels). */
export function ConfirmDialog({ open, message, onConfirm, onCancel }: { open: boolean; message: string; onConfirm: () => void; onCancel: () => void }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal?.();
    if (!open && d.open) d.close?.();
  }, [open]);
  return (
    <dialog ref={ref} onCancel={onCancel} aria-labelledby="confirm-msg" open={open && !ref.current?.showModal ? true : undefined}>
      <p id="confirm-msg">{message}</p>
      <div className="row">
        <button type="button" className="danger" onClick={onConfirm}>
          {t("confirm")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("cancel")}
        </button>
      </div>
    </dialog>
  );
}

function show(v: unknown, locale: string): string {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString(locale) : v.toLocaleString(locale, { maximumSignificantDigits: 5 });
  if (v === null || v === undefined) return "–";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function KeyValues({ data }: { data: Record<string, unknown> }) {
  const { locale } = useI18n();
  return (
    <dl className="kv">
      {Object.entries(data).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{show(v, locale)}</dd>
        </div>
      ))}
    </dl>
  );
}
