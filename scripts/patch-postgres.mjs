// Guards postgres.js 3.4.9 against ending the process when a connection closes under a transaction
// (run by npm's postinstall; idempotent; plain Node, no dependency).
//
// A failed transaction (sql.begin) is answered by postgres.js with a `rollback` on the same
// connection. When that connection has just closed — a failover, pg_terminate_backend, or the store
// letting go of a silent database's sockets (src/store/postgres/connect.ts) — the rollback is queued
// for a write on the next turn of the event loop, by which time postgres.js has set the socket to
// null; the TypeError "Cannot read properties of null (reading 'write')" is thrown from a
// setImmediate, where no caller can catch it, and the process ends. The same for any query sent on a
// reserved connection after it closed. Reported upstream (porsager/postgres#1066, #1154, #1208; the
// guards of #1168/#1176/#1209 are in no 3.4.x release; 4.x is a rewrite).
//
// The guards, in connection.js (the ES module build and the CommonJS one; the workerd build is not
// used here):
// - a query executed on a connection whose socket is gone (or destroyed, after a reset) fails with
//   CONNECTION_CLOSED, as the queries in flight when it closed did, and the connection stays usable
//   by its pool (it is never half-sent, so it cannot linger as the connection's current query);
// - a write scheduled before the close and due after it is dropped: every query it carried was
//   already failed by the close;
// - a connection that closes leaves nothing to its next life: no unwritten bytes, no old backend's
//   error, no query counted as sent (after a reset postgres.js failed only the current one).
// A review found the first version (the first two guards alone, the first answering "pipeline
// full") lost the connection for good after each closed transaction: two and the sign-in pool was
// gone until a restart.
// test/store/postgres-transaction-closed.test.ts fails without them (vitest reports the uncaught
// TypeError). It reaches the first guard; the second covers a narrower window (a write queued while
// the socket was still there and due after it closed) that it cannot make on purpose, and it is
// what the upstream pull requests guard.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const MARK = "/* authflow: guarded against a closed socket (scripts/patch-postgres.mjs) */";
const EXPECTED_VERSION = "3.4.9";

const PATCHES = [
  {
    what: "execute() on a closed connection",
    from: "  function execute(q) {\n    if (terminated)\n      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))\n",
    to:
      "  function execute(q) {\n    if (terminated)\n      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))\n\n" +
      `    ${MARK}\n` +
      // true: the pool reads a false answer as "pipeline full" and parks the connection where
      // nothing takes it out again — a socketless connection lost for good (the review found it).
      // A destroyed socket counts as gone: after a reset it is destroyed before it is let go.
      "    if (socket === null || socket.destroyed)\n      return (queryError(q, Errors.connection('CONNECTION_CLOSED', options)), true)\n",
  },
  {
    what: "a write due after the close",
    from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    to: "  function nextWrite(fn) {\n    if (socket === null) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      return false\n    }\n    const x = socket.write(chunk, fn)\n",
  },
  {
    what: "what a closed connection leaves to its next life",
    from:
      "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)\n    socket.removeListener('connect', connected)\n    idleTimer.cancel()\n    lifeTimer.cancel()\n    connectTimer.cancel()\n\n    socket.removeAllListeners()\n    socket = null\n\n    if (initial)\n      return reconnect()\n\n    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    to:
      // Bytes not yet written go with the socket (else the next connection's start-up message is
      // sent after them), the old backend's error is not the new one's, and every query still
      // counted as sent fails now, after a reset too (hadError) — a rollback queued between the
      // reset's error and the close would otherwise take the next connection's first answer.
      "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)\n    socket.removeListener('connect', connected)\n    idleTimer.cancel()\n    lifeTimer.cancel()\n    connectTimer.cancel()\n\n    socket.removeAllListeners()\n    socket = null\n    errorResponse = null\n\n    if (initial)\n      return reconnect()\n\n    ;(query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n    query = null\n",
  },
];

// The project's own copy (postgres' exports map does not let its package.json be resolved).
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "postgres");
if (!existsSync(join(root, "package.json"))) {
  console.error(`patch-postgres: ${root} is not there; run it after npm installs the dependencies.`);
  process.exit(1);
}
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
if (version !== EXPECTED_VERSION) {
  console.error(`patch-postgres: postgres ${version} is installed; the guards were written for ${EXPECTED_VERSION}. Check whether the new version still needs them (see scripts/patch-postgres.mjs) and update the script.`);
  process.exit(1);
}
for (const file of ["src/connection.js", "cjs/src/connection.js"].map((f) => join(root, f))) {
  if (!existsSync(file)) continue;
  let text = readFileSync(file, "utf8");
  if (text.includes(MARK)) continue;
  for (const patch of PATCHES) {
    if (!text.includes(patch.from)) {
      console.error(`patch-postgres: ${file}: the code to guard (${patch.what}) is not where it was; not patched.`);
      process.exit(1);
    }
    text = text.replace(patch.from, patch.to);
  }
  writeFileSync(file, text);
}
