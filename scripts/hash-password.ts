// npm run hash-password -- <user> [name]   (reads the password from stdin, or generates one)
// Prints a UI_USERS entry: the user id, a display name and the scrypt hash of the password. The
// password itself is kept nowhere; a generated one is printed once.
import { generatePassword, hashPassword } from "../src/identity/password.ts";
import { parseUiUsers } from "../src/identity/ui-users.ts";

const [user, ...nameParts] = process.argv.slice(2);
if (!user) {
  console.error('usage: echo -n "password" | npm run -s hash-password -- <user> [display name]   (no stdin: a password is generated)');
  process.exit(2);
}
let password = "";
if (!process.stdin.isTTY) for await (const chunk of process.stdin) password += chunk;
password = password.replace(/\r?\n$/, "");
const generated = password === "";
if (generated) password = generatePassword();
const entry = { user, name: nameParts.join(" ") || user, passwordHash: await hashPassword(password) };
try {
  parseUiUsers(JSON.stringify([entry]));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
if (generated) console.log(`password (generated; shown once): ${password}`);
console.log(`UI_USERS entry: ${JSON.stringify(entry)}`);
