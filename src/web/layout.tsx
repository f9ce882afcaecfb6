// The page's frame: head, header (who is signed in, language, sign-out) and a main region.
// Nothing inline: styles and script are same-origin files (CSP script-src/style-src 'self').
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { LANGS, TEXTS, type Lang } from "./i18n.ts";

export const STYLE_PATH = "/assets/app.css";
export const SCRIPT_PATH = "/assets/app.js";

export interface Frame {
  lang: Lang;
  title: string;
  /** The signed-in person, when there is one. */
  user?: { user: string; name: string } | undefined;
  csrf?: string | undefined;
  /** Where the language switch comes back to (a path of the page, without the base). */
  path: string;
  /** PUBLIC_URL's path ("" or "/authflow" behind a proxy that strips it): every link starts with it. */
  base: string;
}

export function Layout(props: Frame & { children: Child }) {
  const t = TEXTS[props.lang];
  return (
    <>
    {raw("<!doctype html>")}
    <html lang={props.lang} data-base={props.base}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · authflow`}</title>
        <link rel="stylesheet" href={`${props.base}${STYLE_PATH}`} />
        <script src={`${props.base}${SCRIPT_PATH}`} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          {t.skip}
        </a>
        <header class="top">
          <p class="brand">
            authflow · <span>{t.appTitle}</span>
          </p>
          <nav aria-label={t.language} class="langs">
            {LANGS.map((lang) =>
              lang === props.lang ? (
                <span aria-current="true" lang={lang}>
                  {lang === "nb" ? "Norsk (bokmål)" : "English"}
                </span>
              ) : (
                <a href={`${props.base}/lang/${lang}?back=${encodeURIComponent(props.path)}`} lang={lang} hreflang={lang}>
                  {lang === "nb" ? "Norsk (bokmål)" : "English"}
                </a>
              ),
            )}
          </nav>
          {props.user && (
            <form method="post" action={`${props.base}/signout`} class="signout">
              <span>
                {t.signedInAs} <strong>{props.user.name}</strong>
              </span>
              <input type="hidden" name="_csrf" value={props.csrf ?? ""} />
              <button type="submit">{t.signOut}</button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
    </>
  );
}
