// The people who may sign in to the page: UI_USERS (inline JSON, or the path of a JSON file) lists
// them with scrypt hashes of their passwords; or a reverse proxy that signs them in says who they are
// in TRUSTED_USER_HEADER (honoured only from TRUSTED_PROXIES). The embedded demo, with neither, makes
// one user "demo" and prints its password once.
import { ConfigError } from "../config.ts";
import { jsonArray, settingText } from "./json-setting.ts";
import { isOrganisationNumber } from "../server/validate.ts";
import type { Reach } from "./api-clients.ts";
import { isPasswordHash } from "./password.ts";

export interface UiUser {
  /** The user id the person acts as (the flows' bound user). */
  user: string;
  /** Shown on the page; the id when not given. */
  name: string;
  /** null: no password sign-in; the entry gives the name and reach of a person the trusted proxy signs in. */
  passwordHash: string | null;
  legalEntities: Reach;
}

const USER = /^[\p{L}\p{N}._@-]{1,128}$/u;

export function parseUiUsers(text: string, source = "UI_USERS"): UiUser[] {
  const raw = jsonArray(text, source, '[{"user", "passwordHash"?, "name"?, "legalEntities"?}]');
  const problems: string[] = [];
  const seen = new Set<string>();
  const users: UiUser[] = [];
  raw.forEach((entry, i) => {
    const e = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const user = typeof e.user === "string" ? e.user : "";
    const label = user ? `user "${user}"` : `entry ${i + 1}`;
    if (!USER.test(user)) problems.push(`${label}: "user" must be 1–128 letters, digits, ".", "_", "@" or "-"`);
    else if (seen.has(user)) problems.push(`${label}: listed twice`);
    seen.add(user);
    // Without one, the entry only names a person the trusted proxy signs in (their name and reach).
    const hash = e.passwordHash === undefined ? null : typeof e.passwordHash === "string" ? e.passwordHash : "";
    if (hash !== null && !isPasswordHash(hash)) problems.push(`${label}: "passwordHash" must be an scrypt hash (npm run hash-password prints one)`);
    if ("password" in e) problems.push(`${label}: has a "password" in clear; keep only its "passwordHash"`);
    const name = typeof e.name === "string" && e.name.trim() ? e.name.trim().slice(0, 80) : user;
    let legalEntities: Reach = "*";
    if (e.legalEntities !== undefined && e.legalEntities !== "*") {
      if (Array.isArray(e.legalEntities) && e.legalEntities.every((v) => typeof v === "string" && isOrganisationNumber(v))) legalEntities = Object.freeze([...e.legalEntities]) as readonly string[];
      else problems.push(`${label}: "legalEntities" must be "*" or a list of organisation numbers`);
    }
    users.push({ user, name, passwordHash: hash, legalEntities });
  });
  if (problems.length) throw new ConfigError(source, `has problems: ${problems.join("; ")}`);
  return users;
}

/** UI_USERS: inline JSON, or the path of a file holding it. */
export async function loadUiUsers(value: string | undefined, readText: (path: string) => Promise<string>): Promise<UiUser[]> {
  const setting = await settingText("UI_USERS", value, readText);
  return setting ? parseUiUsers(setting.text, setting.source) : [];
}
