// Deno entry: the same service, served by Deno.serve.
import { ConfigError, readConfig } from "./config.ts";
import { startService, startupLines } from "./service.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void }, handler: (req: Request) => Response | Promise<Response>): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  exit(code: number): never;
};

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

let config;
try {
  config = readConfig(Deno.env.toObject());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`authflow: bad configuration: ${error.message}`);
    Deno.exit(2);
  }
  throw error;
}

const running = await startService(config, log);
const server = Deno.serve({ port: config.port, hostname: config.host, onListen: () => {} }, running.app.fetch);
for (const line of startupLines(config, running, `http://${config.host}:${config.port}`)) console.log(line);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await running.close();
    Deno.exit(0);
  });
}
