// Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.

import { rename, rm, writeFile } from "node:fs/promises";

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await writeFile(temporary, data, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "ENOENT";
}
