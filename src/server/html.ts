// Escaping for the few small HTML pages this server writes (the login pages), and their frame: the
// page's stylesheet from /assets/app.css, nothing inline (the HTML pages' CSP allows no inline style).
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/** `base`: PUBLIC_URL's path, behind a proxy that strips it. */
export function page(title: string, body: string, lang = "en", base = ""): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · authflow</title>
<link rel="stylesheet" href="${escapeHtml(base)}/assets/app.css">
</head>
<body>
${body}
</body>
</html>`;
}
