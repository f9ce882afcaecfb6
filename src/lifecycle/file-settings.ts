// The settings that may name a file (API_CLIENTS, UI_USERS, IDPORTEN_CLIENT_KEY): read together, so
// that a start-up with several of them wrong names every one in one line, also beside the other
// variables' problems (README "Every problem is reported at once"; a review needed three restarts
// for a wrong PORT, API_CLIENTS and UI_USERS). Each problem is a ConfigError: exit code 2.
import { ConfigError, type ConfigProblem, type Env } from "../config.ts";
import { loadApiClients, type ApiClient } from "../identity/api-clients.ts";
import { loadUiUsers, type UiUser } from "../identity/ui-users.ts";
import { loadClientKey, type ClientKey } from "../idporten/idporten-client.ts";

const CLIENT_KEY = "IDPORTEN_CLIENT_KEY";

export interface FileSettingValues {
  apiClients?: string | undefined;
  uiUsers?: string | undefined;
  /** Only with IDPORTEN_CLIENT_AUTH=private_key_jwt. */
  clientKey?: string | undefined;
}

export interface FileSettings {
  apiClients: ApiClient[];
  uiUsers: UiUser[];
  clientKey: ClientKey | undefined;
}

export async function readFileSettings(values: FileSettingValues, readText: (path: string) => Promise<string>): Promise<FileSettings> {
  const [apiClients, uiUsers, clientKey] = await Promise.allSettled([
    loadApiClients(values.apiClients, readText),
    loadUiUsers(values.uiUsers, readText),
    values.clientKey === undefined ? Promise.resolve(undefined) : loadClientKey(values.clientKey).catch(asConfigError),
  ]);
  const problems: ConfigProblem[] = [];
  for (const result of [apiClients, uiUsers, clientKey]) {
    if (result.status === "fulfilled") continue;
    if (!(result.reason instanceof ConfigError)) throw result.reason;
    problems.push(...result.reason.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { apiClients: (apiClients as PromiseFulfilledResult<ApiClient[]>).value, uiUsers: (uiUsers as PromiseFulfilledResult<UiUser[]>).value, clientKey: (clientKey as PromiseFulfilledResult<ClientKey | undefined>).value };
}

/** The file settings' problems as the environment gives them, for a start-up that failed on other variables first. */
export async function fileSettingProblems(env: Env, readText: (path: string) => Promise<string>): Promise<ConfigProblem[]> {
  const privateKeyJwt = env.IDPORTEN_CLIENT_AUTH?.trim() === "private_key_jwt" && Boolean(env.IDPORTEN_CLIENT_KEY);
  try {
    await readFileSettings({ apiClients: env.API_CLIENTS?.trim() || undefined, uiUsers: env.UI_USERS?.trim() || undefined, clientKey: privateKeyJwt ? env.IDPORTEN_CLIENT_KEY : undefined }, readText);
    return [];
  } catch (error) {
    return error instanceof ConfigError ? [...error.problems] : [];
  }
}

/** loadClientKey's errors are one line that begins with the variable's name ("X: …" or "X is …"; they never quote the key). */
function asConfigError(error: unknown): never {
  const message = (error as Error).message;
  const rest = message.startsWith(CLIENT_KEY) ? message.slice(CLIENT_KEY.length) : `: ${message}`;
  throw new ConfigError([{ variable: CLIENT_KEY, problem: rest.startsWith(":") ? `is not usable${rest}` : rest.trim() }]);
}
