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

/** Every place a secret occurs in `files` (one leak per secret and file), with a masked excerpt. */
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
    for (const [secret, kind] of secrets) {
      const at = text.indexOf(secret);
      if (at < 0) continue;
      const lineStart = text.lastIndexOf("\n", at) + 1;
      const lineEnd = text.indexOf("\n", at);
      let excerpt = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
      for (const [other, otherKind] of secrets) if (excerpt.includes(other)) excerpt = excerpt.split(other).join(`<${otherKind}>`);
      const line = text.slice(0, at).split("\n").length;
      // A token and its signature are one leak where they sit together.
      if (where.has(`${file}:${line}:${kind}`)) continue;
      where.add(`${file}:${line}:${kind}`);
      leaks.push({ kind, file: file.startsWith(base) ? relative(base, file) : file, line, excerpt: excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt });
    }
  }
  return { leaks, bytes };
}
