// A flow created for an integration on one instance while another instance deletes that
// integration: one of the two must give way. Before the store held the integration's row for a
// creation (whileKept) and locked it before counting the flows (remove), each instance guarded only
// its own creations, and a review made 15 of 30 such races end with both answering success: a flow
// whose integration was gone (AUTHORIZE then 422 "Unknown integration"; a new integration of the
// same name would silently have taken its grants).
import { expect, it } from "vitest";
import { describeWithPostgres } from "../store/postgres-server.ts";
import { twoInstancesOnPostgres } from "../support/two-instances.ts";

const ROUNDS = 24;

await describeWithPostgres("an integration deleted on one instance while a flow is created for it on another", () => {
  const instances = twoInstancesOnPostgres("authflow_intrace");

  it("never leaves a flow whose integration is gone", async () => {
    const [a, b] = await instances.start({ ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64") });
    const outcomes = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const name = `race-${round}`;
      const created = await a.api("POST", "/api/integrations", {
        name,
        idporten: { issuer: a.service.simulator!.issuer, clientId: `${name}-client`, clientSecret: "race-secret-Qw8Er6Ty4Ui2Op0As9Df", redirectUri: `${a.url}/callback` },
        altinn: { exchangeUrl: a.service.simulator!.altinnExchangeUrl },
      });
      expect(created.status, created.text).toBe(201);
      // Both instances know the integration before the race (each has looked it up once).
      expect((await b.api("GET", `/api/integrations/${name}`)).status).toBe(200);
      // Alternate which instance creates, so each side's guard is the one raced.
      const [creator, deleter] = round % 2 === 0 ? [a, b] : [b, a];
      const [flow, removal] = await Promise.all([
        creator.api("POST", "/api/flows", { legalEntity: "999999999", integration: name }),
        deleter.api("DELETE", `/api/integrations/${name}`),
      ]);
      const outcome = `flow ${flow.status}, delete ${removal.status}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // Either the flow was made and the delete refused because of it, or the integration went and the flow was refused.
      expect([`flow 201, delete 409`, `flow 422, delete 204`], `${outcome}: ${flow.text} ${removal.text}`).toContain(outcome);
      const integration = await a.api("GET", `/api/integrations/${name}`);
      if (flow.status === 201) expect(integration.status, `flow ${flow.json.id} was made, so its integration must stay`).toBe(200);
      else expect(integration.status).toBe(404);
    }
    // Not a test of timing, but the log of what the race did: both outcomes are legitimate.
    console.log(`integration delete race, ${ROUNDS} rounds: ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join("; ")}`);
  }, 120_000);
});
