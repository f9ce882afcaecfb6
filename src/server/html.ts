// Escaping for the few small HTML pages this server writes.
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

export function page(title: string, body: string, lang = "en"): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · authflow</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.6rem; }
  .ok { color: #0b6b2f; } .bad { color: #a4161a; }
  code, pre { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }
  pre { padding: .75rem; overflow-x: auto; }
  table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
${body}
</body>
</html>`;
}
