// The simulator's HTML: the login page (in ID-porten's spirit: pick a test person), the error
// page, and the logout pages. Small, self-contained (no external fonts or scripts) and accessible:
// real buttons, labels, landmarks and an alert for errors.

import type { TestPerson } from "./persons.ts";

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #1e2b3c; }
  header { background: #1e2b3c; color: #fff; padding: 0.75rem 1.5rem; font-weight: 600; }
  main { max-width: 32rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 0.5rem; }
  h1 { font-size: 1.4rem; margin-top: 0; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25rem 1rem; font-size: 0.9rem; }
  dt { font-weight: 600; }
  dd { margin: 0; }
  ul { list-style: none; padding: 0; }
  li { margin: 0.5rem 0; }
  button { font: inherit; width: 100%; padding: 0.75rem 1rem; border: 2px solid #0062ba; border-radius: 0.25rem;
    background: #fff; color: #0062ba; cursor: pointer; display: flex; justify-content: space-between; }
  button:hover, button:focus-visible { background: #0062ba; color: #fff; outline: 3px solid #ffbf47; }
  .number { font-variant-numeric: tabular-nums; }
  .other { display: flex; gap: 0.5rem; align-items: end; margin-top: 1rem; }
  .other label { flex: 1; display: flex; flex-direction: column; font-size: 0.9rem; }
  .other input { font: inherit; padding: 0.6rem; margin-top: 0.25rem; }
  .other button, .cancel { width: auto; }
  .cancel { margin-top: 1.5rem; border-color: #6b7280; color: #374151; }
  [role=alert] { background: #fde8e8; border-left: 4px solid #c81e1e; padding: 0.75rem; }
`;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – ID-porten simulator</title>
<style>${STYLE}</style>
</head>
<body>
<header>ID-porten simulator (test persons only)</header>
<main>
${body}
</main>
</body>
</html>`;
}

export interface LoginPageModel {
  /** Where the form posts (the interaction's login URL). */
  action: string;
  clientId: string;
  uiLocales: string | undefined;
  acrValues: string | undefined;
  /** The level this login will carry. */
  acr: string;
  persons: readonly TestPerson[];
  error?: string;
}

export function renderLoginPage(model: LoginPageModel): string {
  const action = escapeHtml(model.action);
  const persons = model.persons
    .map(
      (person) => `<li><button type="submit" name="pid" value="${person.pid}" aria-label="Log in as ${escapeHtml(person.name)}, ${person.pid}">` +
        `<span>${escapeHtml(person.name)}</span> <span class="number">${person.pid}</span></button></li>`,
    )
    .join("\n");
  return page(
    "Log in",
    `<h1>Log in to ${escapeHtml(model.clientId)}</h1>
${model.error ? `<p role="alert">${escapeHtml(model.error)}</p>` : ""}
<dl>
  <dt>Language asked for</dt><dd>${escapeHtml(model.uiLocales ?? "none (ui_locales not sent)")}</dd>
  <dt>Security level</dt><dd>${escapeHtml(model.acr)}${model.acrValues ? "" : " (default; acr_values not sent)"}</dd>
</dl>
<form method="post" action="${action}">
  <h2 id="persons">Choose a test person</h2>
  <ul aria-labelledby="persons">
${persons}
  </ul>
</form>
<form method="post" action="${action}" class="other">
  <label>Another synthetic national identity number (11 digits)
    <input name="pid" inputmode="numeric" pattern="[0-9]{11}" autocomplete="off" required>
  </label>
  <button type="submit">Log in</button>
</form>
<form method="post" action="${action}">
  <button type="submit" name="cancel" value="access_denied" class="cancel">Cancel</button>
</form>`,
  );
}

export function renderErrorPage(error: string, description: string | undefined): string {
  return page(
    "Error",
    `<h1>Something went wrong</h1>
<p role="alert"><strong>${escapeHtml(error)}</strong>${description ? `: ${escapeHtml(description)}` : ""}</p>
<p>Start again from the service you came from.</p>`,
  );
}

/** oidc-provider's logout confirmation; `form` is its own hidden form (id "op.logoutForm"). */
export function renderLogoutPage(form: string): string {
  return page(
    "Log out",
    `<h1>Log out of the ID-porten simulator?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, log me out</button>
<button type="submit" form="op.logoutForm" class="cancel">No, stay logged in</button>`,
  );
}

export function renderLoggedOutPage(): string {
  return page("Logged out", `<h1>You are logged out</h1>\n<p>You can close this window.</p>`);
}
