// The sign-in page: user name and password (UI_USERS), rate-limited; or a note that only the
// reverse proxy signs people in, or that nobody can yet.
import { Layout } from "./layout.tsx";
import { TEXTS, type Lang } from "./i18n.ts";

export function SignInPage(props: {
  base: string; lang: Lang; error?: string | undefined; user?: string | undefined; passwords: boolean; demoUser?: string | undefined; back?: string | undefined; csrf: string }) {
  const t = TEXTS[props.lang];
  return (
    <Layout lang={props.lang} title={t.signIn} path="/signin" base={props.base}>
      <h1>{t.signInTitle}</h1>
      <p>{t.signInLead}</p>
      {props.error && (
        <p class="notice error" role="alert" id="signin-error">
          {props.error}
        </p>
      )}
      {props.passwords ? (
        <form method="post" action={`${props.base}/signin`} class="signin">
          <input type="hidden" name="back" value={props.back ?? "/"} />
          <input type="hidden" name="_csrf" value={props.csrf} />
          <p class="field">
            <label for="user">{t.user}</label>
            <input id="user" name="user" autocomplete="username" required value={props.user ?? props.demoUser ?? ""} aria-describedby={props.error ? "signin-error" : undefined} />
          </p>
          <p class="field">
            <label for="password">{t.password}</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
          </p>
          <button type="submit" class="primary">
            {t.signIn}
          </button>
        </form>
      ) : (
        <p class="notice">{t.noUsers}</p>
      )}
    </Layout>
  );
}
