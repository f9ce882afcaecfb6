// API_CLIENTS and UI_USERS are read alike: inline JSON when the value starts with "[" (or "{"), else the path
// of a file holding it; a JSON array, every problem named against the variable (and the file).
import { ConfigError } from "../config.ts";

/** The setting's JSON text and where it came from ("UI_USERS" or "UI_USERS (/etc/authflow/users.json)"); null when unset. */
export async function settingText(variable: string, value: string | undefined, readText: (path: string) => Promise<string>): Promise<{ text: string; source: string } | null> {
  if (!value) return null;
  // "{" too: JSON meant inline (an object where an array belongs) is said to be that, not a missing file.
  if (/^\s*[[{]/.test(value)) return { text: value, source: variable };
  const path = value.trim();
  try {
    return { text: await readText(path), source: `${variable} (${path})` };
  } catch (error) {
    throw new ConfigError(variable, `names the file "${path}", which cannot be read (${(error as Error).message})`);
  }
}

/** The setting's JSON array, or a ConfigError that says what it must be. */
export function jsonArray(text: string, source: string, shape: string): unknown[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, `is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new ConfigError(source, `must be a JSON array: ${shape}`);
  return raw;
}
