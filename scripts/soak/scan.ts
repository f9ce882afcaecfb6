// No secret in clear: every file under DATA_DIR and the server's whole stdout and stderr, searched
// for every secret the soak handled — each token it received (and each token's signature alone),
// the API and control tokens, codes, login link secrets, login cookies, and the full pids it logged
// in with.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { SecretKind } from "./context.ts";

export interface Leak {
  kind: SecretKind;
  file: string;
  line: number;
  excerpt: string;
}

export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else if (stat.isFile()) out.push(path);
  };
  walk(dir);
  return out;
}

/**
 * Every place a secret occurs in `files` (one leak per secret kind and line), with a masked excerpt.
 * Each file is split into runs of [A-Za-z0-9_-] and each run looked up: linear in the files' size
 * however many secrets an hour-long soak collects. A secret inside a longer run of such characters
 * is not seen; every secret kept is a whole token, code, id or segment, delimited where it is used.
 */
export function scanForSecrets(secrets: Map<string, SecretKind>, files: string[], base: string): { leaks: Leak[]; bytes: number } {
  const leaks: Leak[] = [];
  const where = new Set<string>();
  let bytes = 0;
  for (const file of files) {
    let text: string;
    try {
      const buffer = readFileSync(file);
      bytes += buffer.length;
      text = buffer.toString("latin1");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/[A-Za-z0-9_-]{8,}/g)) {
      const kind = secrets.get(match[0]);
      if (!kind) continue;
      const at = match.index!;
      const lineStart = text.lastIndexOf("\n", at) + 1;
      const line = text.slice(0, lineStart).split("\n").length;
      const key = `${file}:${line}:${kind}`;
      if (where.has(key)) continue;
      where.add(key);
      const lineEnd = text.indexOf("\n", at);
      const excerpt = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).replace(/[A-Za-z0-9_-]{8,}/g, (run) => (secrets.has(run) ? `<${secrets.get(run)}>` : run));
      leaks.push({ kind, file: file.startsWith(base) ? relative(base, file) : file, line, excerpt: excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt });
    }
  }
  return { leaks, bytes };
}
