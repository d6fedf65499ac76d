import { lazy, Suspense } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { session } from "./api/client";
import { useAuth, type Role } from "./auth";
import { Loading } from "./components/ui";
import { useLiveStatus } from "./hooks";
import { useI18n, type MessageKey } from "./i18n";
import { LoginPage } from "./pages/Login";
import { DashboardPage } from "./pages/Dashboard";
import { useTheme } from "./theme";

const BacktestsPage = lazy(() => import("./pages/Backtests"));
const StrategiesPage = lazy(() => import("./pages/Strategies"));
const OrdersPage = lazy(() => import("./pages/Orders"));
const MarketPage = lazy(() => import("./pages/Market"));
const ModelsPage = lazy(() => import("./pages/Models"));
const PerformancePage = lazy(() => import("./pages/Performance"));
const PredictionsPage = lazy(() => import("./pages/Predictions"));
const ImportancePage = lazy(() => import("./pages/Importance"));
const TrainingPage = lazy(() => import("./pages/Training"));
const MonitoringPage = lazy(() => import("./pages/Monitoring"));
const UsersPage = lazy(() => import("./pages/Users"));

const NAV: { path: string; key: MessageKey; role?: Role }[] = [
  { path: "/", key: "dashboard" },
  { path: "/backtests", key: "backtests" },
  { path: "/strategies", key: "strategies" },
  { path: "/orders", key: "orders" },
  { path: "/market", key: "market" },
  { path: "/models", key: "models" },
  { path: "/performance", key: "performance" },
  { path: "/predictions", key: "predictions" },
  { path: "/importance", key: "importance" },
  { path: "/training", key: "training" },
  { path: "/monitoring", key: "monitoring" },
  { path: "/users", key: "users", role: "admin" },
];

export function App() {
  const { loggedIn } = useAuth();
  if (!loggedIn) return <LoginPage />;
  return <Shell />;
}

function Shell() {
  const { t, lang, setLang } = useI18n();
  const { dark, toggle } = useTheme();
  const { user, can } = useAuth();
  const status = useLiveStatus();
  const liveLabel = status === "open" ? t("live") : status === "connecting" ? t("connecting") : t("offline");
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t("skipToContent")}
      </a>
      <header className="top">
        <span className="brand">qts</span>
        <span className={`live live-${status}`} role="status" data-testid="live-status">
          ● {liveLabel}
        </span>
        <span className="spacer" />
        <label className="inline">
          <span className="sr-only">{t("language")}</span>
          <select value={lang} onChange={(e) => setLang(e.target.value as "ko" | "en")} aria-label={t("language")}>
            <option value="ko">한국어</option>
            <option value="en">English</option>
          </select>
        </label>
        <button type="button" onClick={toggle} aria-pressed={dark}>
          {dark ? t("light") : t("dark")}
        </button>
        <span className="user" data-testid="user">
          {user ? `${user.username} (${user.role})` : ""}
        </span>
        <button type="button" onClick={() => session.logout()}>
          {t("logout")}
        </button>
      </header>
      <nav className="side" aria-label="main">
        <ul>
          {NAV.filter((n) => !n.role || can(n.role)).map((n) => (
            <li key={n.path}>
              <NavLink to={n.path} end={n.path === "/"}>
                {t(n.key)}
              </NavLink>
            </li>
          ))}
        </ul>
        <p className="muted small">{t("charts")}</p>
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<DashboardPage />} />
            <Route path="/backtests" element={<BacktestsPage />} />
            <Route path="/strategies" element={<StrategiesPage />} />
            <Route path="/orders" element={<OrdersPage />} />
            <Route path="/market" element={<MarketPage />} />
            <Route path="/models" element={<ModelsPage />} />
            <Route path="/performance" element={<PerformancePage />} />
            <Route path="/predictions" element={<PredictionsPage />} />
            <Route path="/importance" element={<ImportancePage />} />
            <Route path="/training" element={<TrainingPage />} />
            <Route path="/monitoring" element={<MonitoringPage />} />
            <Route path="/users" element={can("admin") ? <UsersPage /> : <Navigate to="/" />} />
            <Route path="*" element={<Navigate to="/" />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
