// Two services on one new PostgreSQL database (the machine's server), for tests of what one instance
// sees of the other's changes; stopped and the database dropped after the describe block.
import { afterAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "../store/postgres-server.ts";
import { startTestService, type TestService } from "./test-service.ts";

/** Call inside a describe: each `start(env)` makes a database (named `<prefix>_<random>`) and both services with `env` and its DATABASE_URL. */
export function twoInstancesOnPostgres(prefix: string) {
  const databases: TestDatabase[] = [];
  const started: TestService[] = [];
  afterAll(async () => {
    for (const service of started) await service.close();
    for (const db of databases) await db.drop();
  });
  return {
    async start(env: Record<string, string>): Promise<[TestService, TestService]> {
      const db = await createTestDatabase(prefix);
      databases.push(db);
      const pair: [TestService, TestService] = [await startTestService({ ...env, DATABASE_URL: db.url }), await startTestService({ ...env, DATABASE_URL: db.url })];
      started.push(...pair);
      return pair;
    },
  };
}
