// Two services on one new PostgreSQL database (the machine's server), for tests of what one instance
// sees of the other's changes; stopped and the database dropped after the describe block.
import { afterAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "../store/postgres-server.ts";
import { startTestService, type TestService } from "./test-service.ts";

/** Call inside a describe: `start(env)` makes the database (named `<prefix>_<random>`) and both services with `env` and its DATABASE_URL. */
export function twoInstancesOnPostgres(prefix: string) {
  let db: TestDatabase | undefined;
  const started: TestService[] = [];
  afterAll(async () => {
    for (const service of started) await service.close();
    await db?.drop();
  });
  return {
    async start(env: Record<string, string>): Promise<[TestService, TestService]> {
      db = await createTestDatabase(prefix);
      for (let i = 0; i < 2; i++) started.push(await startTestService({ ...env, DATABASE_URL: db.url }));
      return [started[0]!, started[1]!];
    },
  };
}
