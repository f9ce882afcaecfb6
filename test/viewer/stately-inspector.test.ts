// INSPECT=on: a WebSocket client on the inspector server sees the flow's snapshots, and no token,
// code, PKCE verifier or national identity number among them.
import WebSocket from "ws";
import { expect, it } from "vitest";
import type { AuthorizationContext } from "../../src/machines/authorization-types.ts";
import { startTestService, PID } from "../support/test-service.ts";
import { freePort } from "../support/free-port.ts";
import { startupLines } from "../../src/service.ts";

it("reports @xstate.snapshot events to the inspector server with every secret redacted", async () => {
  const port = await freePort();
  const t = await startTestService({ INSPECT: "on", INSPECT_PORT: String(port) });
  const messages: string[] = [];
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  try {
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    expect(startupLines(t.service.config, t.service, t.url)).toContainEqual(expect.stringMatching(new RegExp(`^Stately inspector: open http://localhost:${port} `)));
    client.on("message", (data) => messages.push(data.toString()));

    const id = (await t.api("POST", "/api/flows", { legalEntity: "999999999" })).json.id;
    const authorize = await t.api("POST", `/api/flows/${id}/events`, { type: "AUTHORIZE", user: "alice" });
    // The one-time values of this login, as the machine holds them (the authorizationUrl is a link on this server).
    const request = ((await t.service.engine.current(id)).context as AuthorizationContext).attempt!.request;
    const page = await t.login(authorize.json.authorizationUrl);
    const code = new URL(page.url).searchParams.get("code")!;
    await t.waitForState(id, ["altinnAuthorized"]);
    const altinnToken = (await t.api("POST", `/api/flows/${id}/token`, { user: "alice" })).json.altinnToken as string;
    const ctx = (await t.service.engine.current(id)).context as AuthorizationContext;
    const secrets = {
      altinnToken,
      accessToken: ctx.authorization!.idporten.accessToken,
      refreshToken: ctx.authorization!.idporten.refreshToken!,
      idToken: ctx.authorization!.idporten.idToken!,
      code,
      codeVerifier: request.codeVerifier,
      state: request.state,
      nonce: request.nonce,
      clientSecret: t.service.config.idporten.clientSecret,
      // the login link on this server is a capability until a browser opened it
      loginLink: authorize.json.authorizationUrl as string,
      pid: PID,
    };
    // The inspector sends on idle callbacks: wait until the altinnAuthorized snapshot has arrived.
    for (let i = 0; i < 100 && !messages.some((m) => m.includes('"altinnAuthorized"')); i++) await new Promise((r) => setTimeout(r, 50));

    const snapshots = messages.map((m) => JSON.parse(m)).filter((m) => m.type === "@xstate.snapshot");
    expect(snapshots.length).toBeGreaterThan(3);
    const withContext = snapshots.filter((m) => m.snapshot?.context?.legalEntity === "999999999");
    // The machine's three parallel regions, each in its own state.
    expect(withContext.map((m) => JSON.stringify(m.snapshot.value))).toEqual(
      expect.arrayContaining([
        '{"grant":"idle","login":"awaitingCode","revocation":"inactive"}',
        '{"grant":{"altinnAuthorized":"ready"},"login":"inactive","revocation":"inactive"}',
      ]),
    );
    expect(withContext.some((m) => m.snapshot.context.authorization?.idporten?.accessToken === "[redacted]")).toBe(true);
    const all = messages.join("\n");
    for (const [name, value] of Object.entries(secrets)) expect(all.includes(value), `${name} leaked to the inspector`).toBe(false);
  } finally {
    client.close();
    await t.close();
  }
}, 30_000);
