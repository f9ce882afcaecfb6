// Altinn's error bodies are ASP.NET ProblemDetails (RFC 9457), often without `detail`; in front of
// it a gateway may answer with an HTML page. The flow's error_description gets the words, never
// raw markup or a wall of text.

const MAX = 300;

/** One line, no control characters, at most MAX characters. */
function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim();
  return flat.length > MAX ? `${flat.slice(0, MAX - 1)}…` : flat;
}

function field(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === "string" && value.trim() ? oneLine(value) : typeof value === "number" ? String(value) : undefined;
}

/** What an error answer said, as a short phrase (empty when it said nothing useful). */
export function describeErrorBody(body: string, contentType: string | null): string {
  const text = body.trim();
  if (!text) return "";
  const type = (contentType ?? "").toLowerCase();
  if (type.includes("json") || text.startsWith("{")) {
    try {
      const problem = JSON.parse(text) as Record<string, unknown>;
      if (problem && typeof problem === "object") {
        // Not every refusal is ProblemDetails-shaped; an OAuth-style or bare message body says as much.
        const title = field(problem, "title") ?? field(problem, "error") ?? field(problem, "message");
        const detail = field(problem, "detail") ?? field(problem, "error_description");
        const traceId = field(problem, "traceId");
        const words = [title, detail && detail !== title ? detail : undefined].filter(Boolean).join(": ");
        return [words, traceId ? `(traceId ${traceId})` : ""].filter(Boolean).join(" ");
      }
    } catch {
      // not JSON after all: treated as text below
    }
  }
  if (type.includes("html") || /^<(!doctype|html|head|body)\b/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
    return title ? `an HTML page titled "${oneLine(title)}"` : "an HTML page";
  }
  return oneLine(text);
}

/** ASP.NET's JwtBearer often answers 401 with an empty body and the reason in WWW-Authenticate. */
export function describeChallenge(header: string | null): string {
  if (!header) return "";
  const description = /error_description="([^"]*)"/i.exec(header)?.[1];
  const error = /error="([^"]*)"/i.exec(header)?.[1];
  return oneLine([error, description].filter(Boolean).join(": "));
}
