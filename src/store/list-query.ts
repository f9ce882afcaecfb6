// What both stores share about listing (FlowStore.list): the order, the opaque cursor, and what the
// filters mean — so a page means the same thing on lowdb and on PostgreSQL, and the contract suite
// can hold both to it. Web APIs only (btoa/atob, TextEncoder): the PostgreSQL store runs on Deno too.
import { badRequest } from "../errors.ts";
import { FLOW_ID_PATTERN } from "./flow-id.ts";
import type { FlowRow, ListQuery } from "./flow-store.ts";

export const MAX_PAGE = 500;

/** Where the previous page ended: the (createdAt, id) of its last row. Keyset, not offset, so rows
 * added or removed meanwhile never shift the next page (no duplicates, no gaps). */
export interface ListPosition {
  createdAt: string;
  id: string;
}

export function encodeCursor(row: ListPosition): string {
  const bytes = new TextEncoder().encode(JSON.stringify([row.createdAt, row.id]));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A creation time as toISOString writes it, from 2000 to 9999. */
function isCreationTime(text: string): boolean {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(text) || text < "2000") return false;
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString() === text;
}

/** The position a cursor names. A cursor that is not one of ours is the caller's mistake: 400, not 500. */
export function decodeCursor(cursor: string): ListPosition {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    // The id as a flow id is made (a review sent U+0000 in one to PostgreSQL: 500).
    // The time as the store writes it (toISOString of a real creation time): a year past 9999 or a
    // date PostgreSQL cannot hold answered 500 (review), "1" or year 1 quietly paged from the start.
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string" && FLOW_ID_PATTERN.test(value[1]) && isCreationTime(value[0])) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw badRequest('"cursor" is not the "next" value of a previous page.');
}

/** Limits outside 1..500 are a caller's bug; the HTTP layer already answers 400 for them. */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new RangeError(`list limit must be a whole number from 1 to ${MAX_PAGE}, got ${limit}`);
  return limit;
}

/**
 * A summary field as text, as PostgreSQL's `summary->>'field'` gives it: a string as itself, null
 * or absent as null, anything else as its JSON. The lowdb store filters with this so that both
 * stores match the same rows.
 */
export function summaryText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Whether a row needs a person at `at` (ms): `GET /api/flows?attention=true`. */
export function needsAttention(row: Pick<FlowRow, "attentionFrom">, at: number): boolean {
  return row.attentionFrom !== null && row.attentionFrom <= at;
}

/** The in-memory form of the list filters (lowdb); PostgreSQL has the same in SQL. */
export function rowFilter(query: ListQuery): (row: FlowRow) => boolean {
  const at = query.attentionAt ?? Date.now();
  return (row) =>
    (query.machine === undefined || row.machine === query.machine) &&
    (query.legalEntity === undefined || summaryText(row.summary.legalEntity) === query.legalEntity) &&
    (query.legalEntities === undefined || query.legalEntities.includes(summaryText(row.summary.legalEntity) ?? "")) &&
    (query.state === undefined || summaryText(row.summary.state) === query.state) &&
    (query.attention === undefined || needsAttention(row, at) === query.attention);
}

/** List order: createdAt, then id. createdAt is ISO 8601 in UTC ("…Z", as toISOString writes it), so text order is time order. */
export function compareListOrder(a: ListPosition, b: ListPosition): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
