// Server-sent events to a client that stops reading (review finding): each change was chained
// behind the write the client was not taking, so a stalled client held every change until it went
// away (+15.8 MB over 16,000 changes). Now a flow's stream keeps only the newest message waiting,
// and the page's stream one card per flow, ended past 1,000 flows waiting; other readers get
// everything as before. A real server (DATA_DIR on tmpfs when there is one, for the pace of
// changes); the stalled clients are node:http responses left paused, so their sockets stop being
// read. The socket buffers between them and the server take about 4 MB here (≈ 1,000 messages)
// before a write waits at all, so the changes are made well past that.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashPassword } from "../../src/identity/password.ts";
import { signInWithPassword } from "../support/page-sign-in.ts";
import { API_TOKEN, startTestService, type TestService } from "../support/test-service.ts";

const ENTITY = "999999999";
let t: TestService;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "authflow-stalled-"));
  const users = [{ user: "alice", passwordHash: await hashPassword("alice-password-1", { ln: 10, r: 8, p: 1 }) }];
  t = await startTestService({ UI_USERS: JSON.stringify(users) }, dir);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Stream {
  res: IncomingMessage;
  frames: { event: string; data: string }[];
  ended: () => boolean;
  close: () => void;
}

/** An SSE response, its frames collected as they are read; `res.pause()` stops reading it. */
function open(path: string, headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, t.url);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { accept: "text/event-stream", ...headers }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${path}: ${res.statusCode}`));
      res.setEncoding("utf8");
      const frames: Stream["frames"] = [];
      let buffered = "";
      let ended = false;
      res.on("data", (chunk: string) => {
        buffered += chunk;
        for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
          const lines = buffered.slice(0, end).split("\n");
          buffered = buffered.slice(end + 2);
          const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart()).join("\n");
          frames.push({ event: field("event"), data: field("data") });
        }
      });
      res.on("end", () => (ended = true));
      resolve({ res, frames, ended: () => ended, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; !what() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  return what();
}

const flowFrames = (s: Stream) => s.frames.filter((f) => f.event === "flow").map((f) => JSON.parse(f.data));

it("a flow's stream to a client that stopped reading keeps only the newest message waiting; a reading client keeps up", async () => {
  const id = (await t.service.service.create(ENTITY, undefined)).id;
  const bearer = { authorization: `Bearer ${API_TOKEN}` };
  const stalled = await open(`/api/flows/${id}/stream`, bearer);
  stalled.res.pause();
  const reading = await open(`/api/flows/${id}/stream`, bearer);
  try {
    const CHANGES = 2_000; // ≈ 8 MB of messages: twice what the sockets take
    let newest = "";
    for (let i = 0; i < CHANGES; i++) newest = (await t.service.service.send(id, { type: "AUTHORIZE", user: "alice" })).authorizationUrl as string;
    const last = (s: Stream) => flowFrames(s).at(-1)?.view.authorizationUrl;
    expect(await until(() => last(reading) === newest, 5_000), "the reading client is up to date").toBe(true);
    // The view on connect and after every change (here all of them; a reader slower than the
    // changes would get some merged, by design, so the bound is looser than that).
    expect(flowFrames(reading).length, "the reading client's messages").toBeGreaterThan(CHANGES * 0.9);

    stalled.res.resume();
    expect(await until(() => last(stalled) === newest, 5_000), "the stalled client, reading again, gets the newest").toBe(true);
    // What the sockets held, then the one newest message: not every change since it stopped.
    console.log(`flow stream: ${CHANGES} changes; reading client ${flowFrames(reading).length} messages, stalled client ${flowFrames(stalled).length}`);
    expect(flowFrames(stalled).length).toBeLessThan(CHANGES * 0.75);
    expect(stalled.ended(), "its stream goes on").toBe(false);
  } finally {
    stalled.close();
    reading.close();
  }
}, 30_000);

it("the page's stream to a browser that stopped reading is ended past 1,000 changed flows waiting, in one line of the log; a reading browser gets every card", async () => {
  const { session } = await signInWithPassword(t.url, "alice", "alice-password-1");
  const cookie = { cookie: session! };
  const stalled = await open("/events", cookie);
  stalled.res.pause();
  const reading = await open("/events", cookie);
  const ENDED = "page: ended an event stream whose browser stopped reading";
  try {
    expect(await until(() => reading.frames.some((f) => f.event === "ready"), 5_000)).toBe(true);
    const created = new Set<string>();
    // New flows, 50 at a time, until the stalled stream is ended (≈ 1,000 cards in the sockets, then 1,000 waiting).
    while (!t.lines.some((l) => l.startsWith(ENDED)) && created.size < 8_000) {
      const views = await Promise.all(Array.from({ length: 50 }, () => t.service.service.create(ENTITY, undefined)));
      for (const v of views) created.add(v.id);
    }
    expect(t.lines.filter((l) => l.startsWith(ENDED))).toEqual([`${ENDED} (1000 changed flows waiting); it reconnects`]);

    stalled.res.resume();
    expect(await until(stalled.ended, 5_000), "the stalled stream ends once what the sockets hold is read").toBe(true);
    console.log(`page stream: ${created.size} flows created; stalled browser ${flowFrames(stalled).length} cards, then the end`);
    expect(flowFrames(stalled).length).toBeLessThan(created.size);

    const seen = () => new Set(flowFrames(reading).map((f) => f.id as string));
    expect(await until(() => seen().size === created.size, 5_000), "the reading browser has a card for every flow").toBe(true);
    expect([...seen()].every((id) => created.has(id))).toBe(true);
    expect(reading.ended(), "the reading browser's stream goes on").toBe(false);
  } finally {
    stalled.close();
    reading.close();
  }
}, 30_000);
