// /docs: the generated OpenAPI document as a page a person reads — rendered here, on the server,
// with no script and no inline style (its stylesheet is /docs.css), so it works offline and under
// `default-src 'self'; script-src 'self'; style-src 'self'`. Every operation shows its method, path,
// summary, parameters, request body and responses, schemas as indented field lists with $refs resolved.
import type { Child, FC } from "hono/jsx";

/** A JSON Schema node as the OpenAPI 3.1 document holds it (loosely: the document is plain JSON). */
type Schema = { [key: string]: any };
type Doc = { [key: string]: any };

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const MAX_DEPTH = 8;

export const DOCS_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #5a5a5a; --line: #d9d9d9; --code: #f3f3f3; --accent: #0b4f8a; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0; }
header, main, nav { max-width: 62rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 2rem; }
h1 { font-size: 1.8rem; margin-bottom: .25rem; }
h2 { font-size: 1.4rem; border-bottom: 2px solid var(--line); padding-bottom: .25rem; margin-top: 2.5rem; }
h3 { font-size: 1.15rem; margin: 0 0 .25rem; }
h4 { font-size: 1rem; margin: 1rem 0 .25rem; }
a { color: var(--accent); }
code, pre { background: var(--code); border-radius: 3px; padding: 0 .25rem; font-size: .92em; }
.muted { color: var(--muted); }
.op { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 1.25rem 0; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; font-weight: 700; font-size: .85rem; padding: .1rem .4rem; border-radius: 4px; margin-right: .5rem; color: #fff; background: #555; text-transform: uppercase; }
.method-get { background: #1f6f3f; } .method-post { background: #0b4f8a; } .method-put, .method-patch { background: #8a5a0b; } .method-delete { background: #a4161a; }
.path { font-family: ui-monospace, monospace; font-size: 1.05rem; }
.badge { display: inline-block; font-size: .75rem; border: 1px solid var(--line); border-radius: 10px; padding: 0 .5rem; margin-left: .4rem; color: var(--muted); }
.required { color: #a4161a; border-color: #e7b4b5; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 .75rem; }
td, th { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
ul.fields { list-style: none; margin: .25rem 0; padding-left: 1.1rem; border-left: 2px solid var(--line); }
ul.fields > li { margin: .3rem 0; }
.type { font-family: ui-monospace, monospace; font-size: .88rem; color: #6a3d9a; margin-left: .35rem; }
.constraints { font-size: .88rem; color: var(--muted); }
details { margin: .25rem 0 .5rem; }
summary { cursor: pointer; }
.status { font-family: ui-monospace, monospace; font-weight: 700; }
nav ol { columns: 2; column-gap: 3rem; font-size: .92rem; padding-left: 2.2rem; }
nav li { break-inside: avoid; }
@media (max-width: 48rem) { nav ol { columns: 1; } }
`;

const refName = (ref: string) => decodeURIComponent(ref.split("/").pop() ?? ref).replace(/~1/g, "/").replace(/~0/g, "~");

function resolve(doc: Doc, ref: string): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: any = doc;
  for (const part of ref.slice(2).split("/")) node = node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return node;
}

const isNull = (s: Schema) => s.type === "null" || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);

/** The alternatives of a union, with a bare `null` alternative taken out (it shows as "| null"). */
function alternatives(s: Schema): { options: Schema[]; nullable: boolean } | null {
  const list: Schema[] | undefined = s.oneOf ?? s.anyOf;
  if (!Array.isArray(list)) return null;
  return { options: list.filter((x) => !isNull(x)), nullable: list.some(isNull) };
}

/** A short type label: "string (date-time) | null", "array of Flow", "Problem", "one of: A | B". */
export function typeLabel(s: Schema | undefined): string {
  if (!s || typeof s !== "object") return "any";
  if (typeof s.$ref === "string") return refName(s.$ref);
  const union = alternatives(s);
  if (union) return [...union.options.map(typeLabel), ...(union.nullable ? ["null"] : [])].join(" | ");
  if (Array.isArray(s.allOf)) return s.allOf.map(typeLabel).join(" & ");
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const labels = types.map((t) => {
    if (t === "array") return `array of ${typeLabel(s.items)}`;
    if (t === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") return `map of string → ${typeLabel(s.additionalProperties)}`;
    if (t === "string" && s.format) return `string (${s.format})`;
    return t;
  });
  if (labels.length === 0 && "const" in s) return JSON.stringify(s.const);
  return labels.join(" | ") || "any";
}

function constraints(s: Schema): string[] {
  const out: string[] = [];
  const values = Array.isArray(s.enum) ? s.enum.filter((v: unknown) => v !== null) : [];
  if (values.length === 1) out.push(`always ${JSON.stringify(values[0])}`);
  else if (values.length > 1) out.push(`one of: ${values.map((v: unknown) => JSON.stringify(v)).join(", ")}`);
  if ("const" in s) out.push(`always ${JSON.stringify(s.const)}`);
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.minLength !== undefined || s.maxLength !== undefined) out.push(`length ${s.minLength ?? 0}–${s.maxLength ?? "∞"}`);
  if (s.minimum !== undefined || s.maximum !== undefined) out.push(`from ${s.minimum ?? "−∞"} to ${s.maximum ?? "∞"}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  if (s.example !== undefined) out.push(`example ${JSON.stringify(s.example)}`);
  return out;
}

/** The fields inside a schema (an object's properties, an array's items, a union's alternatives), as a nested list. */
const Inner: FC<{ schema: Schema; doc: Doc; depth: number; seen: string[] }> = ({ schema, doc, depth, seen }) => {
  if (depth > MAX_DEPTH) return null;
  let s = schema;
  let stack = seen;
  if (typeof s.$ref === "string") {
    if (seen.includes(s.$ref)) return <p class="muted">(see {refName(s.$ref)} above)</p>;
    stack = [...seen, s.$ref];
    s = resolve(doc, s.$ref) ?? {};
  }
  const union = alternatives(s);
  if (union && union.options.length === 1) return <Inner schema={union.options[0]!} doc={doc} depth={depth} seen={stack} />;
  if (union && union.options.length > 1) {
    return (
      <ul class="fields">
        {union.options.map((option, i) => (
          <li>
            <strong>Alternative {i + 1}</strong>
            <span class="type">{typeLabel(option)}</span>
            {option.description || resolveDescription(doc, option) ? <span class="muted"> — {option.description ?? resolveDescription(doc, option)}</span> : null}
            <Inner schema={option} doc={doc} depth={depth + 1} seen={stack} />
          </li>
        ))}
      </ul>
    );
  }
  if (Array.isArray(s.allOf)) return <>{s.allOf.map((part: Schema) => <Inner schema={part} doc={doc} depth={depth + 1} seen={stack} />)}</>;
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes("array") && s.items) {
    const items: Schema = s.items;
    const itemTarget = typeof items.$ref === "string" ? resolve(doc, items.$ref) ?? {} : items;
    return hasInner(itemTarget, doc) ? <Inner schema={items} doc={doc} depth={depth + 1} seen={stack} /> : null;
  }
  if (s.properties && typeof s.properties === "object") {
    const required = new Set<string>(Array.isArray(s.required) ? s.required : []);
    return (
      <ul class="fields">
        {Object.entries(s.properties as Record<string, Schema>).map(([name, prop]) => (
          <Field name={name} schema={prop} required={required.has(name)} doc={doc} depth={depth + 1} seen={stack} />
        ))}
      </ul>
    );
  }
  if (s.additionalProperties && typeof s.additionalProperties === "object" && hasInner(s.additionalProperties, doc)) {
    return (
      <ul class="fields">
        <Field name="<name>" schema={s.additionalProperties} required={false} doc={doc} depth={depth + 1} seen={stack} />
      </ul>
    );
  }
  return null;
};

function resolveDescription(doc: Doc, s: Schema): string | undefined {
  return typeof s.$ref === "string" ? resolve(doc, s.$ref)?.description : undefined;
}

function hasInner(s: Schema, doc: Doc, depth = 0): boolean {
  if (!s || depth > 4) return false;
  if (typeof s.$ref === "string") return hasInner(resolve(doc, s.$ref) ?? {}, doc, depth + 1);
  if (s.properties || s.allOf) return true;
  const union = alternatives(s);
  if (union) return union.options.some((o) => hasInner(o, doc, depth + 1));
  if (s.items) return hasInner(s.items, doc, depth + 1);
  return typeof s.additionalProperties === "object" && hasInner(s.additionalProperties, doc, depth + 1);
}

const Field: FC<{ name: string; schema: Schema; required: boolean; doc: Doc; depth: number; seen: string[] }> = ({ name, schema, required, doc, depth, seen }) => {
  const own = typeof schema.$ref === "string" ? resolve(doc, schema.$ref) ?? {} : schema;
  const description: string | undefined = schema.description ?? own.description;
  const notes = constraints(schema).concat(schema === own ? [] : constraints(own));
  return (
    <li>
      <code>{name}</code>
      <span class="type">{typeLabel(schema)}</span>
      {required ? <span class="badge required">required</span> : <span class="badge">optional</span>}
      {description ? <span> — {description}</span> : null}
      {notes.length ? <div class="constraints">{notes.join("; ")}</div> : null}
      <Inner schema={schema} doc={doc} depth={depth} seen={seen} />
    </li>
  );
};

/** A whole schema: its type (a link to its component for a $ref), description, constraints and fields. */
const SchemaBlock: FC<{ schema: Schema | undefined; doc: Doc; open?: boolean; shownAbove?: boolean }> = ({ schema, doc, open, shownAbove }) => {
  if (!schema) return <p class="muted">No schema.</p>;
  const own = typeof schema.$ref === "string" ? resolve(doc, schema.$ref) ?? {} : schema;
  const label = typeof schema.$ref === "string" ? <a href={`#schema-${refName(schema.$ref)}`}>{refName(schema.$ref)}</a> : <span class="type">{typeLabel(schema)}</span>;
  const notes = constraints(own);
  const fields = hasInner(schema, doc) ? <Inner schema={schema} doc={doc} depth={0} seen={[]} /> : null;
  if (shownAbove) return <div>Schema: {label} <span class="muted">(its fields are shown above)</span></div>;
  return (
    <div>
      <div>
        Schema: {label}
        {own.description ? <span class="muted"> — {own.description}</span> : null}
      </div>
      {notes.length ? <div class="constraints">{notes.join("; ")}</div> : null}
      {fields ? (
        open ? (
          fields
        ) : (
          <details>
            <summary>Fields</summary>
            {fields}
          </details>
        )
      ) : null}
    </div>
  );
};

const opId = (method: string, path: string) => `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;

const Parameters: FC<{ parameters: Schema[]; doc: Doc }> = ({ parameters, doc }) => (
  <table>
    <thead>
      <tr>
        <th>Name</th>
        <th>In</th>
        <th>Type</th>
        <th>Required</th>
        <th>Description</th>
      </tr>
    </thead>
    <tbody>
      {parameters.map((raw) => {
        const p = typeof raw.$ref === "string" ? resolve(doc, raw.$ref) ?? {} : raw;
        const notes = constraints(p.schema ?? {});
        return (
          <tr>
            <td>
              <code>{p.name}</code>
            </td>
            <td>{p.in}</td>
            <td>
              <span class="type">{typeLabel(p.schema)}</span>
            </td>
            <td>{p.required ? "yes" : "no"}</td>
            <td>
              {p.description ?? p.schema?.description ?? ""}
              {notes.length ? <div class="constraints">{notes.join("; ")}</div> : null}
            </td>
          </tr>
        );
      })}
    </tbody>
  </table>
);

/** `shown`: the components whose fields this operation already showed (a second response of the same shape links back). */
const Content: FC<{ content: Record<string, Schema> | undefined; doc: Doc; open?: boolean; shown?: Set<string> }> = ({ content, doc, open, shown }) =>
  content ? (
    <>
      {Object.entries(content).map(([mediaType, media]) => {
        const ref: string | undefined = media.schema?.$ref;
        const shownAbove = ref !== undefined && shown !== undefined && shown.has(ref);
        if (ref !== undefined) shown?.add(ref);
        return (
          <div>
            <code>{mediaType}</code>
            <SchemaBlock schema={media.schema} doc={doc} open={open} shownAbove={shownAbove} />
          </div>
        );
      })}
    </>
  ) : null;

const Operation: FC<{ method: string; path: string; op: Schema; doc: Doc }> = ({ method, path, op, doc }) => {
  const security: unknown[] = op.security ?? doc.security ?? [];
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  const headersOf = (response: Schema) => Object.entries((response.headers ?? {}) as Record<string, Schema>);
  const shown = new Set<string>();
  return (
    <section class="op" id={opId(method, path)}>
      <h3>
        <span class={`method method-${method}`}>{method.toUpperCase()}</span>
        <span class="path">{path}</span>
      </h3>
      {op.summary ? <p>{op.summary}</p> : null}
      {op.description ? <p class="muted">{op.description}</p> : null}
      <p class="constraints">
        {security.length === 0 ? "Public: no token needed." : `Needs ${security.map((s) => Object.keys(s as object).join(" + ")).join(" or ")} (${schemes.length ? "see Authentication" : "bearer"}).`}
      </p>
      {op.parameters?.length ? (
        <>
          <h4>Parameters</h4>
          <Parameters parameters={op.parameters} doc={doc} />
        </>
      ) : null}
      {op.requestBody ? (
        <>
          <h4>Request body{op.requestBody.required ? " (required)" : ""}</h4>
          <Content content={op.requestBody.content} doc={doc} open />
        </>
      ) : null}
      <h4>Responses</h4>
      <table>
        <thead>
          <tr>
            <th>Status</th>
            <th>Meaning and body</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries((op.responses ?? {}) as Record<string, Schema>).map(([status, raw]) => {
            const response = typeof raw.$ref === "string" ? resolve(doc, raw.$ref) ?? {} : raw;
            return (
              <tr>
                <td class="status">{status}</td>
                <td>
                  {response.description}
                  {headersOf(response).length ? (
                    <div class="constraints">
                      Headers: {headersOf(response).map(([name, h]) => `${name}${h.description ? ` (${h.description})` : ""}`).join(", ")}
                    </div>
                  ) : null}
                  <Content content={response.content} doc={doc} shown={shown} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
};

function operations(doc: Doc): Array<{ method: string; path: string; op: Schema }> {
  return Object.entries((doc.paths ?? {}) as Record<string, Schema>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] as Schema })),
  );
}

/** Paragraphs of a description (blank lines separate them). */
const Text: FC<{ text: string | undefined }> = ({ text }) => <>{(text ?? "").split(/\n\s*\n/).filter(Boolean).map((p) => <p>{p}</p>)}</>;

export const DocsPage: FC<{ doc: Doc }> = ({ doc }) => {
  const ops = operations(doc);
  const tagOf = (op: Schema) => (Array.isArray(op.tags) && op.tags[0]) || "Other";
  const tags = [...new Set(ops.map((o) => tagOf(o.op)))];
  const schemes = Object.entries((doc.components?.securitySchemes ?? {}) as Record<string, Schema>);
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Record<string, Schema>);
  const body: Child = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${doc.info?.title ?? "API"} API · authflow`}</title>
        <link rel="stylesheet" href="/docs.css" />
      </head>
      <body>
        <header>
          <h1>
            {doc.info?.title ?? "API"} <span class="muted">{doc.info?.version}</span>
          </h1>
          <Text text={doc.info?.description} />
          <p>
            The machine-readable document (OpenAPI {doc.openapi}) is at <a href="/openapi.json">/openapi.json</a>. Errors are <code>application/problem+json</code> (RFC 9457): see{" "}
            <a href="#schema-Problem">Problem</a>.
          </p>
        </header>
        <nav aria-label="Operations">
          <h2>Operations</h2>
          <ol>
            {ops.map(({ method, path, op }) => (
              <li>
                <a href={`#${opId(method, path)}`}>
                  <code>{method.toUpperCase()}</code> {path}
                </a>
                {op.summary ? <span class="muted"> — {op.summary}</span> : null}
              </li>
            ))}
          </ol>
        </nav>
        <main>
          {schemes.length ? (
            <section id="authentication">
              <h2>Authentication</h2>
              {schemes.map(([name, scheme]) => (
                <p>
                  <code>{name}</code>: {scheme.type}
                  {scheme.scheme ? ` (${scheme.scheme})` : ""}
                  {scheme.description ? ` — ${scheme.description}` : ""}
                </p>
              ))}
            </section>
          ) : null}
          {tags.map((tag) => (
            <section id={`tag-${tag}`}>
              <h2>{tag}</h2>
              {ops
                .filter((o) => tagOf(o.op) === tag)
                .map((o) => (
                  <Operation method={o.method} path={o.path} op={o.op} doc={doc} />
                ))}
            </section>
          ))}
          <section id="schemas">
            <h2>Schemas</h2>
            {schemas.map(([name, schema]) => (
              <section class="op" id={`schema-${name}`}>
                <h3>{name}</h3>
                <SchemaBlock schema={{ $ref: `#/components/schemas/${name}` }} doc={doc} open />
              </section>
            ))}
          </section>
        </main>
      </body>
    </html>
  );
  return body as any;
};

/** The page as a string (doctype included). */
export function docsPage(doc: Doc): string {
  return `<!doctype html>${String(<DocsPage doc={doc} />)}`;
}
