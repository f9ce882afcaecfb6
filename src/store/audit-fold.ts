// A flow's audit trail over a year, bounded. An authorization renews itself: with ID-porten's
// default refresh-token lifetime (600 s) a keep-alive every 8 minutes, each leaving three entries
// (KEEP_ALIVE, done: refreshIdporten, done: exchangeAltinn) — 540 a day, ≈ 34 MB a flow a year in
// lowdb's audit file, 2 billion rows a year for 10,000 flows in PostgreSQL; and the files were
// read whole for the newest 100. Such entries are marked `routine` by the engine (the machine says
// which: upkeep that changed no state a person sees, whoever asked for it). The stores keep every
// entry that is not routine, the newest ROUTINE_KEPT routine ones, and fold the older routine ones
// into one entry that says how many there were and between which times — so each of them is still
// counted, and the trail of a flow stays the size of what people did to it.
import type { AuditEntry, FoldedEntries } from "./flow-store.ts";

/** Routine entries kept one by one, newest first (about seven renewals). */
export const ROUTINE_KEPT = 21;

/** The event name of an entry that stands for folded routine entries. */
export const FOLDED_EVENT = "folded: routine upkeep";

/**
 * Which of `routine` (a flow's routine entries, oldest first) to fold: all but the newest `keep`,
 * when that is two or more (one alone is left as it is), and the entry that stands for them — it
 * takes the place of the newest folded one (its time, its states), and its count includes the
 * entries earlier folds stood for.
 */
export function planFold(routine: readonly AuditEntry[], keep = ROUTINE_KEPT): { fold: number; summary: AuditEntry } | null {
  const fold = routine.length - keep;
  if (fold < 2) return null;
  let entries = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const entry of routine.slice(0, fold)) {
    entries += entry.folded?.entries ?? 1;
    const from = entry.folded?.first ?? entry.at;
    const to = entry.folded?.last ?? entry.at;
    if (first === undefined || from < first) first = from;
    if (last === undefined || to > last) last = to;
  }
  const newest = routine[fold - 1]!;
  const folded: FoldedEntries = { entries, first: first!, last: last! };
  return { fold, summary: { flowId: newest.flowId, at: newest.at, from: newest.from, to: newest.to, event: FOLDED_EVENT, user: null, routine: true, folded } };
}

/** `entries` (a whole trail, oldest first) with its older routine entries folded, or null when there is nothing to fold. */
export function foldTrail(entries: readonly AuditEntry[], keep = ROUTINE_KEPT): AuditEntry[] | null {
  const routine = entries.filter((entry) => entry.routine === true);
  const plan = planFold(routine, keep);
  if (plan === null) return null;
  const folded = new Set(routine.slice(0, plan.fold));
  const last = routine[plan.fold - 1];
  return entries.flatMap((entry) => (entry === last ? [plan.summary] : folded.has(entry) ? [] : [entry]));
}
