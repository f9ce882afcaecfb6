// A lowdb adapter for one JSON document that is private (0600) and durable: lowdb/node's JSONFile
// writes through steno (temp file + rename) but never fsyncs, so after a power cut the renamed
// document can be empty — the torn file that used to stop start-up (issue 8).
import { readFile } from "node:fs/promises";
import type { Adapter } from "lowdb";
import { errorCode, writeFileAtomically } from "./private-files.ts";

export class DurableJsonFile<T> implements Adapter<T> {
  readonly path: string;
  // Writes to one file are applied in the order they were asked for: two renames racing could
  // otherwise leave the older document on disk.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** The document, or null if there is no file. Throws on a file that is not JSON (torn, empty). */
  async read(): Promise<T | null> {
    const text = await this.readText();
    return text === null ? null : (JSON.parse(text) as T);
  }

  /** The document's text, or null if there is no file: for a caller that names what is wrong with it rather than throwing. */
  async readText(): Promise<string | null> {
    try {
      return await readFile(this.path, "utf8");
    } catch (error) {
      if (errorCode(error) === "ENOENT") return null;
      throw error;
    }
  }

  /** Resolves once `data` is on disk for good: written, fsynced, renamed into place. */
  write(data: T): Promise<void> {
    const text = JSON.stringify(data, null, 2);
    const run = () => writeFileAtomically(this.path, text);
    const written = this.#queue.then(run, run);
    this.#queue = written.catch(() => undefined);
    return written;
  }
}
