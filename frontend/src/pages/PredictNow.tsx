import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { Card, ErrorText } from "../components/ui";
import { formatNumber, formatPercent, formatTime } from "../format";
import { useI18n } from "../i18n";
import { modelReferences, useModels } from "./ml";

/** Score the newest stored bar of each symbol with a registered version now (`POST /ml/predict`:
 * any signed-in user may, nothing is stored, so it is a button and not a write form). */
export function PredictNow() {
  const { t, locale } = useI18n();
  const refs = modelReferences(useModels().data);
  const [model, setModel] = useState("");
  const [symbols, setSymbols] = useState("");
  const ref = model || refs[0] || "";
  const m = useMutation({
    mutationFn: () => {
      const list = symbols.split(/[\s,]+/).filter(Boolean);
      return unwrap(api.POST("/api/v1/ml/predict", { body: { model: ref, symbols: list.length ? list : null } }));
    },
  });
  const r = m.data;
  return (
    <Card title={t("predictNow")} id="pred-now-title">
      <div className="form-grid">
        <div className="field">
          <label htmlFor="pn-model">{t("model")}</label>
          <select id="pn-model" value={ref} onChange={(e) => setModel(e.target.value)}>
            {refs.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="pn-symbols">{t("symbols")}</label>
          <input id="pn-symbols" value={symbols} placeholder={t("modelUniverse")} onChange={(e) => setSymbols(e.target.value)} />
        </div>
      </div>
      <button type="button" className="primary" disabled={!ref || m.isPending} onClick={() => m.mutate()}>
        {t("predictNow")}
      </button>
      <ErrorText error={m.error} />
      {r && (
        <>
          <p className="small">
            {r.model} v{r.model_version} · {r.model_type} · {t("trainedOn")} {formatTime(r.train_start, locale)} – {formatTime(r.train_end, locale)}
            {r.unscored.length > 0 && ` · ${t("unscored")}: ${r.unscored.join(", ")}`}
          </p>
          {r.predictions.length > 0 && (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("symbol")}</th>
                    <th scope="col">{t("time")}</th>
                    <th scope="col">{t("score")}</th>
                    <th scope="col">{t("signal")}</th>
                    <th scope="col">{t("expectedReturn")}</th>
                    <th scope="col">ms</th>
                  </tr>
                </thead>
                <tbody>
                  {r.predictions.map((p) => (
                    <tr key={p.symbol} data-testid="predict-now-row">
                      <td>{p.symbol}</td>
                      <td>{formatTime(p.ts, locale)}</td>
                      <td className="num">{formatNumber(p.value, locale, 5)}</td>
                      <td className={p.signal.direction > 0 ? "pos" : p.signal.direction < 0 ? "neg" : ""}>{p.signal.label}</td>
                      <td className="num">{formatPercent(p.signal.expected_return, locale)}</td>
                      <td className="num">{formatNumber(p.latency_ms, locale, 1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Card>
  );
}
