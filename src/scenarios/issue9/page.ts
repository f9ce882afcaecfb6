// Reading the service's small HTML pages (callback, login link) the way a person reads them.
const decode = (s: string) => s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

export function pageText(body: string): { lang: string | undefined; title: string; message: string } {
  return {
    lang: /<html lang="([^"]*)"/.exec(body)?.[1],
    title: decode(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(body)?.[1] ?? ""),
    message: decode(/<main>[\s\S]*?<p>([\s\S]*?)<\/p>/.exec(body)?.[1] ?? ""),
  };
}
