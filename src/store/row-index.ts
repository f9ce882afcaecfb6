// The lowdb store's in-memory index: every flow's row (its record without the sealed snapshot),
// by id and in list order. It answers list pages, count and the due-time query without opening a
// flow document, so start-up and memory do not grow with the snapshots (a few KB each).
//
// Why an array kept sorted rather than sorting per call: a page is a binary search and a short
// scan. Flows are created in time order, so an insert lands at or near the end; the splice is a
// memmove of at most 10,000 pointers otherwise. The due-time query is a scan: at 10,000 rows it
// costs tens of microseconds (bench/lowdb-open.ts measures it), less than keeping a second order
// in step with every save.
import type { FlowRow, ListPage, ListQuery } from "./flow-store.ts";
import { checkLimit, compareListOrder, decodeCursor, encodeCursor, rowFilter, type ListPosition } from "./list-query.ts";

export class RowIndex {
  #byId = new Map<string, FlowRow>();
  /** The same rows by (createdAt, id). */
  #ordered: FlowRow[] = [];

  /** An index of `rows` (ids unique), sorted once: cheaper than inserting one by one at open. */
  static of(rows: FlowRow[]): RowIndex {
    const index = new RowIndex();
    for (const row of rows) index.#byId.set(row.id, row);
    index.#ordered = [...index.#byId.values()].sort(compareListOrder);
    return index;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): FlowRow | undefined {
    return this.#byId.get(id);
  }

  put(row: FlowRow): void {
    const old = this.#byId.get(row.id);
    this.#byId.set(row.id, row);
    if (old && compareListOrder(old, row) === 0) {
      this.#ordered[this.#lowerBound(old)] = row;
      return;
    }
    if (old) this.#ordered.splice(this.#lowerBound(old), 1);
    this.#ordered.splice(this.#lowerBound(row), 0, row);
  }

  delete(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    this.#ordered.splice(this.#lowerBound(old), 1);
  }

  /** The first position whose row sorts at or after `key`. */
  #lowerBound(key: ListPosition): number {
    let lo = 0;
    let hi = this.#ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareListOrder(this.#ordered[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  page(query: ListQuery): ListPage {
    const limit = checkLimit(query.limit);
    const matches = rowFilter(query);
    const after = query.after === undefined ? undefined : decodeCursor(query.after);
    // Oldest first: from the first row past the cursor upwards; newest first: from the last row before it downwards.
    const step = query.newestFirst ? -1 : 1;
    let i: number;
    if (query.newestFirst) i = after ? this.#lowerBound(after) - 1 : this.#ordered.length - 1;
    else {
      i = after ? this.#lowerBound(after) : 0;
      if (after && i < this.#ordered.length && compareListOrder(this.#ordered[i]!, after) === 0) i++;
    }
    const items: FlowRow[] = [];
    let more = false;
    for (; i >= 0 && i < this.#ordered.length; i += step) {
      const row = this.#ordered[i]!;
      if (!matches(row)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(row);
    }
    const last = items.at(-1);
    return { items: items.map((row) => ({ ...row })), next: more && last ? encodeCursor(last) : null };
  }

  /** Rows whose nextDeadlineAt <= until (and that `wanted` takes), earliest first (then by id), at most `limit`. */
  due(until: number, limit: number, wanted?: (row: FlowRow) => boolean): FlowRow[] {
    const due: FlowRow[] = [];
    for (const row of this.#byId.values()) if (row.nextDeadlineAt !== null && row.nextDeadlineAt <= until && (!wanted || wanted(row))) due.push(row);
    due.sort((a, b) => a.nextDeadlineAt! - b.nextDeadlineAt! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return due.slice(0, limit);
  }
}
