// The services that call /api, each with its own credential and its own reach (issue 10):
// API_CLIENTS lists them (inline JSON, or a path to a JSON file), each with a name, the SHA-256 of
// its token (the server never holds the token itself) and what it may do. API_TOKEN stays as the
// single-client shorthand: one client, "api-token", that may act for any user and legal entity.
import { ConfigError } from "../config.ts";
import { sha256Hex, webSha256, type Sha256 } from "../crypto/secrets.ts";
import { jsonArray, settingText } from "./json-setting.ts";
import { isOrganisationNumber } from "../server/validate.ts";

export type Reach = "*" | readonly string[];

export interface ApiClient {
  name: string;
  /** SHA-256 of the token, lower-case hex. */
  tokenSha256: string;
  /** The legal entities (organisation numbers) it may create and drive authorizations for. */
  legalEntities: Reach;
  /** The users it may act for ("*": any; a service that stands for one person lists only them). */
  users: Reach;
}

/** The name API_TOKEN's client goes by in the audit trail. */
export const API_TOKEN_CLIENT = "api-token";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 of a token, as API_CLIENTS keeps it (hex). */
export const tokenSha256 = (token: string): Promise<string> => sha256Hex(token);

/**
 * Reads API_CLIENTS' JSON: `[{"name", "tokenSha256", "legalEntities": "*" | [...], "users": "*" | [...]}]`.
 * Every problem is reported at once, naming the entry; reach must be said explicitly (no default grants all).
 */
export function parseApiClients(text: string, source = "API_CLIENTS"): ApiClient[] {
  const raw = jsonArray(text, source, '[{"name", "tokenSha256", "legalEntities", "users"}]');
  const problems: string[] = [];
  const clients: ApiClient[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  raw.forEach((entry, i) => {
    const at = `entry ${i + 1}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return void problems.push(`${at} must be an object`);
    const e = entry as Record<string, unknown>;
    const name = typeof e.name === "string" ? e.name : "";
    const label = name ? `client "${name}"` : at;
    if (!NAME.test(name)) problems.push(`${at}: "name" must be 1–64 letters, digits, ".", "_" or "-"`);
    else if (names.has(name) || name === API_TOKEN_CLIENT || name === "page") problems.push(`${label}: the name is taken${name === API_TOKEN_CLIENT || name === "page" ? " (reserved)" : ""}`);
    names.add(name);
    const hash = typeof e.tokenSha256 === "string" ? e.tokenSha256.toLowerCase() : "";
    if (!HEX64.test(hash)) problems.push(`${label}: "tokenSha256" must be the token's SHA-256 in hex (64 characters; npm run api-client prints one)`);
    else if (hashes.has(hash)) problems.push(`${label}: the same token as another client`);
    hashes.add(hash);
    if ("token" in e) problems.push(`${label}: has a "token" in clear; keep only its "tokenSha256"`);
    const legalEntities = reach(e.legalEntities, (v) => isOrganisationNumber(v), `${label}: "legalEntities" must be "*" or a list of organisation numbers (9 digits, valid check digit)`, problems);
    const users = reach(e.users, (v) => v.length > 0 && v.length <= 128, `${label}: "users" must be "*" or a list of user ids`, problems);
    clients.push({ name, tokenSha256: hash, legalEntities, users });
  });
  if (problems.length) throw new ConfigError(source, `has problems: ${problems.join("; ")}`);
  return clients;
}

function reach(value: unknown, valid: (v: string) => boolean, problem: string, problems: string[]): Reach {
  if (value === "*") return "*";
  if (Array.isArray(value) && value.every((v) => typeof v === "string" && valid(v))) return Object.freeze([...value]) as readonly string[];
  problems.push(problem);
  return [];
}

/** API_CLIENTS: inline JSON, or the path of a file holding it. */
export async function loadApiClients(value: string | undefined, readText: (path: string) => Promise<string>): Promise<ApiClient[]> {
  const setting = await settingText("API_CLIENTS", value, readText);
  return setting ? parseApiClients(setting.text, setting.source) : [];
}

export type { Sha256 };

/** Finds the client whose token this is, comparing every digest in full, whatever matches or where. */
export function clientDirectory(clients: readonly ApiClient[], sha256: Sha256 = webSha256) {
  const digests = clients.map((client) => ({ client, bytes: hexBytes(client.tokenSha256) }));
  return async (token: string): Promise<ApiClient | null> => {
    const presented = await sha256(token);
    let found: ApiClient | null = null;
    for (const { client, bytes } of digests) {
      let diff = 0;
      for (let i = 0; i < bytes.length; i++) diff |= bytes[i]! ^ presented[i]!;
      if (diff === 0) found = client;
    }
    return found;
  };
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
