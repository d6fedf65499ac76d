import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

interface Theme {
  dark: boolean;
  toggle: () => void;
}
const Ctx = createContext<Theme>({ dark: false, toggle: () => {} });

export function ThemeProvider({ children }: { children: ReactNode }) {
  const [dark, setDark] = useState(() => {
    const saved = localStorage.getItem("qts.theme");
    if (saved) return saved === "dark";
    return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  });
  useEffect(() => {
    document.documentElement.dataset.theme = dark ? "dark" : "light";
    localStorage.setItem("qts.theme", dark ? "dark" : "light");
  }, [dark]);
  const value = useMemo(() => ({ dark, toggle: () => setDark((d) => !d) }), [dark]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useTheme = (): Theme => useContext(Ctx);
