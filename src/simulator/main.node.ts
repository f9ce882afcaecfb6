// `npm run simulator`: the simulator on its own (DESIGN §5, §6). Reads its environment once; a bad
// value stops start-up with one line naming the variable. Runs under Node and `deno run -A`.

import process from "node:process";
import { readStandaloneConfig } from "./config.ts";
import { startSimulator } from "./index.ts";

let config;
try {
  config = readStandaloneConfig(process.env);
} catch (error) {
  console.error(`simulator: ${(error as Error).message}`);
  process.exit(1);
}

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

try {
  const simulator = await startSimulator({
    host: config.host,
    port: config.port,
    publicUrl: config.publicUrl,
    dataDir: config.dataDir,
    encryptionKey: config.encryptionKey,
    clients: [config.client],
    lifetimes: config.lifetimes,
    refreshReuseGraceSeconds: config.refreshReuseGraceSeconds,
    controlToken: config.controlToken,
    log,
  });
  const { client } = config;
  const state = simulator.control.state();
  console.log(`ID-porten simulator
  issuer        ${simulator.issuer}  (discovery: ${simulator.issuer}/.well-known/openid-configuration)
  login page    shown by ${simulator.issuer}/authorize; add login_hint=<pid> (or <pid>:substantial|high) to skip it
  Altinn        ${simulator.altinnExchangeUrl}
  control API   ${simulator.controlUrl}${config.controlToken ? " (Bearer SIMULATOR_CONTROL_TOKEN)" : " (no token: set SIMULATOR_CONTROL_TOKEN to require one)"}
  client        ${client.clientId} (${client.tokenEndpointAuthMethod}), redirect URIs ${client.redirectUris.join(", ")}
  data          ${config.dataDir}/simulator
  lifetimes     ${JSON.stringify(state.lifetimes)}
  reuse grace   ${state.settings.refreshReuseGraceSeconds} s for a rotated refresh token`);
  if (config.clientSecretGenerated) {
    console.log(`  client secret ${client.clientSecret}  (generated for this run; set SIMULATOR_CLIENT_SECRET to keep one)`);
  }
  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`simulator: ${(error as Error).message}`);
  process.exit(1);
}
