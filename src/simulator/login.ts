// The login interaction (oidc-provider's interactions.url): a page that lists the test persons,
// or — with login_hint=<pid> on the authorization request — no page at all: the person is logged
// in server-side and the browser is sent straight on, so an automated client following redirects
// reaches the redirect URI without any HTML form. The login carries the level the client asked
// for (acr_values; substantial when none), or the one a login_hint names (login-hint.ts).

import { Hono, type Context } from "hono";
import { askedAcr } from "./acr.ts";
import { parseLoginHint } from "./login-hint.ts";
import type { Interaction, Provider } from "./oidc-types.ts";
import { renderErrorPage, renderLoginPage } from "./pages.ts";
import { maskPid, syntheticPidProblem, TEST_PERSONS } from "./persons.ts";
import { LOGIN_PATH } from "./provider.ts";

export function loginRoutes(provider: Provider, log: (line: string) => void): Hono {
  const app = new Hono();

  app.get("/:uid", async (c) => {
    const interaction = await provider.Interaction.find(c.req.param("uid"));
    if (!interaction) return expired(c);
    const hint = interaction.params.login_hint;
    if (hint === undefined) return c.html(renderLoginPage(pageModel(interaction)));
    const parsed = parseLoginHint(hint);
    if (parsed.problem !== undefined) {
      return c.html(renderLoginPage({ ...pageModel(interaction), error: `${parsed.problem}. Choose a test person instead.` }), 400);
    }
    return logIn(c, interaction, parsed.pid, "login_hint", parsed.acr);
  });

  app.post("/:uid", async (c) => {
    const interaction = await provider.Interaction.find(c.req.param("uid"));
    if (!interaction) return expired(c);
    const form = await c.req.parseBody();
    if (form.cancel !== undefined) {
      log(`login: cancelled, client ${interaction.params.client_id}`);
      return finish(c, interaction, { error: "access_denied", error_description: "The user cancelled the login" });
    }
    const pid = typeof form.pid === "string" ? form.pid.trim() : "";
    const problem = syntheticPidProblem(pid);
    if (problem) {
      return c.html(renderLoginPage({ ...pageModel(interaction), error: `The number ${problem}.` }), 400);
    }
    return logIn(c, interaction, pid, "login page");
  });

  async function logIn(c: Context, interaction: Interaction, pid: string, how: string, acr = askedAcr(interaction.params.acr_values)): Promise<Response> {
    // oidc-provider would stop at a "log out the previous person?" form when this browser's
    // session belongs to someone else; logging in as another person simply ends that session.
    if (interaction.session && interaction.session.accountId !== pid) {
      await (await provider.Session.findByUid(interaction.session.uid))?.destroy();
      interaction.session = undefined;
    }
    log(`login: ${maskPid(pid)} at ${acr} via ${how}, client ${interaction.params.client_id}`);
    return finish(c, interaction, { login: { accountId: pid, acr, amr: ["TestID"] } });
  }

  async function finish(c: Context, interaction: Interaction, result: Record<string, unknown>): Promise<Response> {
    interaction.result = result;
    await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
    return c.redirect(interaction.returnTo, 303);
  }

  return app;
}

function pageModel(interaction: Interaction) {
  return {
    action: `${LOGIN_PATH}/${interaction.uid}`,
    clientId: interaction.params.client_id ?? "",
    uiLocales: interaction.params.ui_locales,
    acrValues: interaction.params.acr_values,
    acr: askedAcr(interaction.params.acr_values),
    persons: TEST_PERSONS,
  };
}

function expired(c: Context): Response {
  return c.html(renderErrorPage("invalid_request", "This login has expired or was already used"), 404);
}
