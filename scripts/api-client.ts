// npm run api-client -- <name> [--users bob,carol] [--legal-entities 999999999,123456785]
// Makes a new API client: prints its token once (give it to the service) and the API_CLIENTS entry
// to add (it holds only the token's SHA-256). Without --users or --legal-entities the client may act
// for any user or legal entity; say so deliberately.
import { parseApiClients, tokenSha256 } from "../src/identity/api-clients.ts";

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith("--"));
const option = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1]?.split(",").map((v) => v.trim()).filter(Boolean) : undefined;
};
if (!name) {
  console.error("usage: npm run api-client -- <name> [--users bob,carol] [--legal-entities 999999999]");
  process.exit(2);
}
const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
const entry = { name, tokenSha256: await tokenSha256(token), legalEntities: option("--legal-entities") ?? "*", users: option("--users") ?? "*" };
try {
  parseApiClients(JSON.stringify([entry]));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
console.log(`token (give it to "${name}"; it is not kept anywhere): ${token}`);
console.log(`API_CLIENTS entry: ${JSON.stringify(entry)}`);
