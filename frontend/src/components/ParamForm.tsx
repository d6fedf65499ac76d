// Inputs generated from a strategy's declared parameters (type, range, step, choices, default).

export interface ParamSpec {
  name: string;
  type: "int" | "float" | "bool" | "str" | string;
  default: unknown;
  low?: number | null;
  high?: number | null;
  choices?: unknown[] | null;
  step?: number | null;
  description?: string | null;
}
export type ParamValues = Record<string, unknown>;

export function defaultsOf(specs: ParamSpec[]): ParamValues {
  return Object.fromEntries(specs.map((s) => [s.name, s.default]));
}

/** Problems by parameter name: out of range, not a whole number, empty. */
export function validateParams(specs: ParamSpec[], values: ParamValues): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const s of specs) {
    const v = values[s.name];
    if (s.type === "int" || s.type === "float") {
      if (typeof v !== "number" || Number.isNaN(v)) {
        errors[s.name] = "a number is required";
      } else if (s.type === "int" && !Number.isInteger(v)) {
        errors[s.name] = "must be a whole number";
      } else if (s.low != null && v < s.low) {
        errors[s.name] = `must be ≥ ${s.low}`;
      } else if (s.high != null && v > s.high) {
        errors[s.name] = `must be ≤ ${s.high}`;
      }
    }
  }
  return errors;
}

export function ParamForm({ specs, values, onChange, idPrefix, disabled, suggestions = {} }: {
  specs: ParamSpec[];
  values: ParamValues;
  onChange: (v: ParamValues) => void;
  idPrefix: string;
  disabled?: boolean;
  /** Values offered for free-text parameters, by name (e.g. registered models for `model`). */
  suggestions?: Record<string, string[]>;
}) {
  const errors = validateParams(specs, values);
  const set = (name: string, v: unknown) => onChange({ ...values, [name]: v });
  return (
    <fieldset className="params" disabled={disabled}>
      {specs.map((s) => {
        const id = `${idPrefix}-${s.name}`;
        const err = errors[s.name];
        const hint = [s.description, s.low != null || s.high != null ? `[${s.low ?? ""} … ${s.high ?? ""}]` : ""]
          .filter(Boolean)
          .join(" ");
        let input;
        if (s.choices && s.choices.length) {
          input = (
            <select id={id} value={String(values[s.name] ?? "")} onChange={(e) => set(s.name, s.choices!.find((c) => String(c) === e.target.value))}>
              {s.choices.map((c) => (
                <option key={String(c)} value={String(c)}>
                  {String(c)}
                </option>
              ))}
            </select>
          );
        } else if (s.type === "bool") {
          input = <input id={id} type="checkbox" checked={Boolean(values[s.name])} onChange={(e) => set(s.name, e.target.checked)} />;
        } else if (s.type === "int" || s.type === "float") {
          input = (
            <input
              id={id}
              type="number"
              inputMode="decimal"
              min={s.low ?? undefined}
              max={s.high ?? undefined}
              step={s.type === "int" ? 1 : "any"}
              value={values[s.name] === undefined || Number.isNaN(values[s.name]) ? "" : String(values[s.name])}
              aria-invalid={err ? true : undefined}
              aria-describedby={err ? `${id}-err` : undefined}
              onChange={(e) => set(s.name, e.target.value === "" ? Number.NaN : Number(e.target.value))}
            />
          );
        } else {
          const options = suggestions[s.name] ?? [];
          input = (
            <>
              <input id={id} type="text" list={options.length ? `${id}-list` : undefined} value={String(values[s.name] ?? "")} onChange={(e) => set(s.name, e.target.value)} />
              {options.length > 0 && (
                <datalist id={`${id}-list`}>
                  {options.map((o) => (
                    <option key={o} value={o} />
                  ))}
                </datalist>
              )}
            </>
          );
        }
        return (
          <div className="field" key={s.name}>
            <label htmlFor={id}>{s.name}</label>
            {input}
            {hint && <small className="muted">{hint}</small>}
            {err && (
              <small className="error" id={`${id}-err`}>
                {err}
              </small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
