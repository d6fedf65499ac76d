// The selected symbol's stored news, newest first, a page at a time (GET /market/news).
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { Card, ErrorText, Loading } from "../components/ui";
import { formatSigned, formatTime, pnlClass } from "../format";
import { useI18n } from "../i18n";

export const NEWS_PAGE = 20;

type NewsItem = Schemas["NewsItemOut"];

// Feeds supply the links: only web addresses become links (never javascript: or data:).
const WEB_URL = /^https?:\/\//i;

export function NewsCard({ symbol }: { symbol: string }) {
  const { t } = useI18n();
  const q = useInfiniteQuery({
    queryKey: ["news", symbol],
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/market/news", { params: { query: { symbol, limit: NEWS_PAGE, offset: pageParam } } })),
    initialPageParam: 0,
    getNextPageParam: (last) => last.next_offset ?? undefined,
  });
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Card title={`${t("news")} · ${symbol}`} id="news-title">
      {q.isLoading && <Loading />}
      <ErrorText error={q.error} />
      {q.data && !items.length && <p className="muted">{t("noNews")}</p>}
      {items.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table className="news">
            <caption className="sr-only">{`${t("news")} · ${symbol}`}</caption>
            <thead>
              <tr>
                <th scope="col">{t("time")}</th>
                <th scope="col">{t("headline")}</th>
                <th scope="col">{t("source")}</th>
                <th scope="col">{t("sentiment")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((n) => (
                <NewsRow key={n.id} item={n} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {q.hasNextPage && (
        <button type="button" className="small" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {t("more")}
        </button>
      )}
    </Card>
  );
}

function NewsRow({ item: n }: { item: NewsItem }) {
  const { t, locale } = useI18n();
  const scored = n.sentiment !== null && Number.isFinite(n.sentiment);
  return (
    <tr data-testid="news-row">
      <td title={n.published_at}>{formatTime(n.known_at, locale)}</td>
      <td className="headline" lang={n.language || undefined}>
        {WEB_URL.test(n.url) ? (
          <a href={n.url} target="_blank" rel="noopener noreferrer">
            {n.headline}
            <span className="sr-only"> {t("newTab")}</span>
          </a>
        ) : (
          n.headline
        )}
      </td>
      <td>{n.source}</td>
      <td
        className={`num ${scored ? pnlClass(n.sentiment) : "muted"}`}
        title={scored ? `${t("sentimentBy")}: ${n.sentiment_model}` : t("unscored")}
        data-testid="news-sentiment"
      >
        {formatSigned(n.sentiment, locale)}
      </td>
    </tr>
  );
}
