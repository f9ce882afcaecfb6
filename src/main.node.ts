// Node entry: read the environment once, start the service, listen, stop cleanly on a signal.
import { serve } from "@hono/node-server";
import { ConfigError, readConfig } from "./config.ts";
import { startService, startupLines } from "./service.ts";

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

let config;
try {
  config = readConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`authflow: bad configuration: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

const running = await startService(config, log);
const server = serve({ fetch: running.app.fetch, port: config.port, hostname: config.host }, (info) => {
  for (const line of startupLines(config, running, `http://${config.host}:${info.port}`)) console.log(line);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    server.close();
    await running.close();
    process.exit(0);
  });
}
