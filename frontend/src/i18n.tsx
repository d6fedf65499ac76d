import { createContext, useContext, useMemo, useState, type ReactNode } from "react";

export type Lang = "ko" | "en";

const en = {
  appName: "qts", login: "Log in", logout: "Log out", username: "Username", password: "Password",
  loginFailed: "Login failed", dashboard: "Dashboard", backtests: "Backtests", strategies: "Strategies",
  orders: "Orders & positions", market: "Market", models: "ML models", performance: "Model performance",
  predictions: "Predictions", importance: "Feature importance", training: "Training", monitoring: "Monitoring",
  users: "Users", language: "Language", theme: "Theme", dark: "Dark", light: "Light", live: "Live",
  offline: "Offline", connecting: "Connecting", loading: "Loading…",
  error: "Error", status: "Status", version: "Version", mode: "Mode", components: "Components", jobs: "Jobs",
  killSwitch: "Kill switch", killOn: "ON: new orders blocked", killOff: "Off", turnOn: "Turn on", turnOff: "Turn off",
  confirmKillOn: "Cancel every open order and block new ones?", confirmKillOff: "Allow new orders again?",
  confirm: "Confirm", cancel: "Cancel", accounts: "Accounts", account: "Account", positions: "Positions",
  latestOrders: "Latest orders", latestFills: "Latest fills", symbol: "Symbol", side: "Side", quantity: "Quantity",
  price: "Price", avgPrice: "Avg price", lastPrice: "Last", unrealized: "Unrealised P&L", realized: "Realised P&L",
  marketValue: "Market value", fees: "Fees", time: "Time", type: "Type", filled: "Filled", none: "Nothing yet",
  equityHistory: "Equity history", strategy: "Strategy", symbols: "Symbols", timeframe: "Timeframe", start: "Start",
  end: "End", run: "Run", running: "Running", queued: "Queued", done: "Done", failed: "Failed", metrics: "Metrics",
  trades: "Trades", equity: "Equity", drawdown: "Drawdown", benchmark: "Benchmark", compare: "Compare",
  costs: "Costs & sizing", parameters: "Parameters", cash: "Cash", commission: "Commission (rate)",
  slippage: "Slippage (bps)", sellTax: "Sell tax (rate)", fixedFee: "Fixed fee", minFee: "Minimum fee",
  lotSize: "Lot size", leverage: "Leverage", fractional: "Fractional shares", allowShort: "Allow short",
  fillAt: "Fill at", rebalance: "Rebalance", engine: "Engine", marketPreset: "Market preset", auto: "auto",
  runs: "Runs", optimise: "Optimise", create: "Create", save: "Save", edit: "Edit", delete: "Delete", stop: "Stop",
  name: "Name", description: "Description", state: "State", catalogue: "Catalogue", stored: "Stored strategies",
  feed: "Feed", replay: "Replay", speed: "Speed", details: "Details", events: "Events", fills: "Fills",
  modelVersion: "Model version", filters: "Filters", all: "All", total: "Total", datasets: "Datasets", bars: "Bars",
  first: "First", last: "Last", versions: "Versions", aliases: "Aliases", promote: "Promote", alias: "Alias",
  gate: "Only if it beats the current version (gate)", score: "Score", signal: "Signal", realised: "Realised return",
  model: "Model", epochs: "Epochs", horizon: "Horizon", features: "Features", history: "History", loss: "Loss",
  role: "Role", active: "Active", newUser: "New user", created: "Created", select: "Select", close: "Close",
  selectTwo: "Tick two runs to compare", oosIc: "Out-of-sample IC", icOverTime: "IC over time",
  modelVsBuyHold: "Model vs buy and hold", drift: "Drift", system: "System", checkedAt: "Checked at",
  result: "Result", id: "ID", skipToContent: "Skip to content", rows: "rows", viewer: "viewer",
  readOnly: "Read-only (viewer)", buy: "buy", sell: "sell", orderList: "Orders", charts: "Charts: TradingView Lightweight Charts™",
  seed: "Seed", method: "Method", objective: "Objective", trials: "Trials", folds: "Walk-forward folds",
  grid: "Grid (empty: declared)", bestParams: "Best parameters", meanIc: "mean IC", predictNow: "Predict now",
  modelUniverse: "empty: the model's universe", trainedOn: "trained on", unscored: "Not scored",
  expectedReturn: "Expected return", runCheck: "Run a drift check", liveIc: "Live IC", retraining: "retraining",
  breaches: "Breaches",
  news: "News", noNews: "No stored news for this symbol", more: "More", headline: "Headline", source: "Source",
  sentiment: "Sentiment", sentimentBy: "Scored by", cashHeld: "Cash", newTab: "(opens in a new tab)",
  missingFx: "No FX rate for {pair}: run qts data fx fetch --pair {pair}", prices: "Prices",
  pricesAdjusted: "adjusted (splits, dividends)", pricesRaw: "raw", fxPairs: "FX pairs",
};
export type MessageKey = keyof typeof en;

const ko: Record<MessageKey, string> = {
  appName: "qts", login: "로그인", logout: "로그아웃", username: "사용자 이름", password: "비밀번호",
  loginFailed: "로그인 실패", dashboard: "대시보드", backtests: "백테스트", strategies: "전략",
  orders: "주문 및 포지션", market: "시장", models: "ML 모델", performance: "모델 성과", predictions: "예측",
  importance: "피처 중요도", training: "학습", monitoring: "모니터링", users: "사용자", language: "언어",
  theme: "테마", dark: "다크", light: "라이트", live: "실시간", offline: "오프라인", connecting: "연결 중",
  loading: "불러오는 중…", error: "오류", status: "상태",
  version: "버전", mode: "모드", components: "구성 요소", jobs: "작업", killSwitch: "킬 스위치",
  killOn: "켜짐: 신규 주문 차단", killOff: "꺼짐", turnOn: "켜기", turnOff: "끄기",
  confirmKillOn: "모든 미체결 주문을 취소하고 신규 주문을 차단할까요?", confirmKillOff: "신규 주문을 다시 허용할까요?",
  confirm: "확인", cancel: "취소", accounts: "계좌", account: "계좌", positions: "포지션", latestOrders: "최근 주문",
  latestFills: "최근 체결", symbol: "종목", side: "매매", quantity: "수량", price: "가격", avgPrice: "평균가",
  lastPrice: "현재가", unrealized: "평가 손익", realized: "실현 손익", marketValue: "평가 금액", fees: "수수료",
  time: "시각", type: "유형", filled: "체결", none: "아직 없음", equityHistory: "자산 추이", strategy: "전략",
  symbols: "종목", timeframe: "주기", start: "시작", end: "종료", run: "실행", running: "실행 중", queued: "대기",
  done: "완료", failed: "실패", metrics: "지표", trades: "거래", equity: "자산", drawdown: "낙폭",
  benchmark: "벤치마크", compare: "비교", costs: "비용 및 수량", parameters: "파라미터", cash: "초기 자금",
  commission: "수수료율", slippage: "슬리피지 (bp)", sellTax: "매도세율", fixedFee: "고정 수수료",
  minFee: "최소 수수료", lotSize: "거래 단위", leverage: "레버리지", fractional: "소수점 거래", allowShort: "공매도 허용",
  fillAt: "체결 시점", rebalance: "리밸런싱", engine: "엔진", marketPreset: "시장 프리셋", auto: "자동",
  runs: "실행 목록", optimise: "최적화", create: "생성", save: "저장", edit: "편집", delete: "삭제", stop: "중지",
  name: "이름", description: "설명", state: "상태", catalogue: "카탈로그", stored: "저장된 전략", feed: "데이터",
  replay: "리플레이", speed: "속도", details: "상세", events: "이벤트", fills: "체결", modelVersion: "모델 버전",
  filters: "필터", all: "전체", total: "합계", datasets: "데이터셋", bars: "봉", first: "처음", last: "마지막",
  versions: "버전", aliases: "별칭", promote: "승격", alias: "별칭", gate: "현재 버전보다 나을 때만 (게이트)",
  score: "점수", signal: "신호", realised: "실현 수익률", model: "모델", epochs: "에폭", horizon: "예측 기간",
  features: "피처", history: "기록", loss: "손실", role: "역할", active: "활성", newUser: "새 사용자",
  created: "생성", select: "선택", close: "닫기", selectTwo: "비교할 실행 두 개를 선택하세요",
  oosIc: "표본 외 IC", icOverTime: "기간별 IC", modelVsBuyHold: "모델 대 매수 후 보유", drift: "드리프트",
  system: "시스템", checkedAt: "점검 시각", result: "결과", id: "ID", skipToContent: "본문으로 건너뛰기",
  rows: "행", viewer: "조회자", readOnly: "읽기 전용 (조회자)", buy: "매수", sell: "매도", orderList: "주문", charts: "차트: TradingView Lightweight Charts™",
  seed: "시드", method: "방법", objective: "목표 지표", trials: "시행", folds: "워크포워드 구간",
  grid: "그리드 (비우면 선언된 값)", bestParams: "최적 파라미터", meanIc: "평균 IC", predictNow: "지금 예측",
  modelUniverse: "비우면 모델의 유니버스", trainedOn: "학습 기간", unscored: "점수 없음",
  expectedReturn: "기대 수익률", runCheck: "드리프트 점검 실행", liveIc: "실시간 IC", retraining: "재학습",
  breaches: "임계 초과",
  news: "뉴스", noNews: "이 종목의 저장된 뉴스가 없습니다", more: "더 보기", headline: "제목", source: "출처",
  sentiment: "감성 점수", sentimentBy: "채점 모델", cashHeld: "예수금", newTab: "(새 탭에서 열림)",
  missingFx: "{pair} 환율이 없습니다: qts data fx fetch --pair {pair} 를 실행하세요", prices: "가격 기준",
  pricesAdjusted: "수정주가 (분할, 배당 반영)", pricesRaw: "원주가", fxPairs: "환율 쌍",
};

const messages: Record<Lang, Record<MessageKey, string>> = { en, ko };

export interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (k: MessageKey) => string;
  locale: string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem("qts.lang") as Lang) ?? "ko");
  const value = useMemo<I18n>(
    () => ({
      lang,
      locale: lang === "ko" ? "ko-KR" : "en-US",
      setLang: (l) => {
        localStorage.setItem("qts.lang", l);
        document.documentElement.lang = l;
        setLangState(l);
      },
      t: (k) => messages[lang][k] ?? k,
    }),
    [lang],
  );
  document.documentElement.lang = lang;
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
