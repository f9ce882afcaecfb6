// One way to show a time on the page: Norwegian local time with its UTC offset ("25.11.2026 12:41 +01:00"),
// the zone this service's people work in, and how far off it is ("in 9 min").
import type { Lang } from "./i18n.ts";
import { TEXTS } from "./i18n.ts";

export const PAGE_TIME_ZONE = "Europe/Oslo";

const parts = new Intl.DateTimeFormat("en-GB", {
  timeZone: PAGE_TIME_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "longOffset",
});

/** "25.11.2026 12:41:07 +01:00" (Oslo time, with the offset so nobody has to guess the zone). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const p = Object.fromEntries(parts.formatToParts(date).map((x) => [x.type, x.value]));
  const offset = (p.timeZoneName ?? "GMT").replace("GMT", "") || "+00:00";
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second} ${offset}`;
}

/** The date alone, for an authorization's end a year away. */
export function formatDate(iso: string | null | undefined): string {
  return formatTime(iso).split(" ")[0] ?? "—";
}

/** "in 9 min" / "3 h ago", from now. */
export function relative(iso: string | null | undefined, now: number, lang: Lang): string {
  if (!iso) return "";
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return "";
  const abs = Math.abs(ms);
  const text =
    abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / 86_400_000)} ${lang === "nb" ? "d" : "d"}`;
  return ms >= 0 ? TEXTS[lang].in(text) : TEXTS[lang].ago(text);
}

/** 974 760 673: how organisation numbers are written. */
export const orgNo = (n: string) => (/^\d{9}$/.test(n) ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : n);
