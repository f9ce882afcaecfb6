// The embedded demo's page user: with no UI_USERS and no trusted proxy, `npm start` makes one user,
// "demo", with a generated password that is printed once (at the start that made it). Only its hash
// is kept, under DATA_DIR (0600); delete the file to get a new password.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createFileExclusively, ensurePrivateDir } from "../store/private-files.ts";
import { generatePassword, hashPassword } from "./password.ts";
import { parseUiUsers, type UiUser } from "./ui-users.ts";

export const DEMO_USER_FILE = "ui-demo-user.json";
export const DEMO_USER = "demo";

export async function loadDemoUser(dataDir: string): Promise<{ user: UiUser; password: string | null; path: string }> {
  const path = join(dataDir, DEMO_USER_FILE);
  let password: string | null = null;
  try {
    await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw new Error(`${path}: ${(error as Error).message}`);
    await ensurePrivateDir(dataDir);
    const generated = generatePassword();
    const entry = [{ user: DEMO_USER, name: "Demo", passwordHash: await hashPassword(generated) }];
    // Another start that made it a moment earlier wins; its password was printed there.
    if (await createFileExclusively(path, JSON.stringify(entry) + "\n")) password = generated;
  }
  const users = parseUiUsers(await readFile(path, "utf8"), path);
  return { user: users[0]!, password, path };
}
