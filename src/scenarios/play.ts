// Plays one scenario against a fresh embedded engine + simulator, printing each transition.
import type { Scenario, ScenarioContext } from "./catalog.ts";
import { ScenarioFailure } from "./catalog.ts";
import { startTestService } from "./harness.ts";

export interface ScenarioResult {
  name: string;
  passed: boolean;
  failure?: string;
}

export async function play(scenario: Scenario, out: (line: string) => void): Promise<ScenarioResult> {
  out(`▶ ${scenario.name}: ${scenario.summary}`);
  const t = await startTestService(scenario.env ?? {});
  const unsubscribe = t.service.engine.onTransition(({ audit }) => {
    for (const a of audit) if (a.from !== a.to || a.event === "create") out(`  ${a.from ?? "·"} → ${a.to}  (${a.event}${a.user ? ` by ${a.user}` : ""})`);
  });
  const ctx: ScenarioContext = {
    t,
    say: (line) => out(`  · ${line}`),
    check(condition, what) {
      if (!condition) throw new ScenarioFailure(what);
      out(`  ✓ ${what}`);
    },
    async startLogin(user = "alice") {
      const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id as string;
      const res = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user, uiLocale: "en" });
      if (res.status !== 200) throw new ScenarioFailure(`AUTHORIZE answered ${res.status}: ${res.json?.detail}`);
      return { id, authorizationUrl: res.json.authorizationUrl as string };
    },
    async authorized(user = "alice") {
      const { id, authorizationUrl } = await ctx.startLogin(user);
      await t.login(authorizationUrl);
      const view = await t.waitForState(id, ["altinnAuthorized", "idle"]);
      if (view.state !== "altinnAuthorized") throw new ScenarioFailure(`the login did not authorize: ${view.state} ${JSON.stringify(view.lastError)}`);
      return id;
    },
  };
  try {
    await scenario.run(ctx);
    out(`PASS ${scenario.name}`);
    return { name: scenario.name, passed: true };
  } catch (error) {
    const failure = error instanceof ScenarioFailure ? error.message : `${(error as Error)?.stack ?? error}`;
    out(`  ✗ ${failure}`);
    out(`FAIL ${scenario.name}`);
    return { name: scenario.name, passed: false, failure };
  } finally {
    unsubscribe();
    await t.close();
  }
}
