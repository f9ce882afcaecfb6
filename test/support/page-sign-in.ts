// Signing in to the page with a password, as a browser would: the sign-in form's CSRF cookie, then
// the form posted with it. Answers the status and, when signed in, the session cookie ("name=value").
export async function signInWithPassword(baseUrl: string, user: string, password: string): Promise<{ status: number; session?: string }> {
  const form = await fetch(`${baseUrl}/signin`);
  const cookie = form.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("authflow_signin="))!;
  const answer = await fetch(`${baseUrl}/signin`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
    body: new URLSearchParams({ user, password, _csrf: cookie.split("=")[1]!, back: "/" }),
  });
  const session = answer.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("authflow_session="));
  return { status: answer.status, ...(session ? { session } : {}) };
}
