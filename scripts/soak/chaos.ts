// What goes wrong, at random: faults at the simulator's token and Altinn endpoints (5xx, delays
// longer and shorter than the server's outbound timeout, dropped connections), SIGKILL of the
// server's process group followed by a restart on the same DATA_DIR, and a full disk for a few
// seconds. Restarts and full disks never overlap, so whatever breaks has one cause to look at.
import type { SoakContext, Window } from "./context.ts";
import type { Disk } from "./disk.ts";
import { request } from "./http.ts";
import { StartFailed, type ServerProcess } from "./server.ts";
import { sleep, type Random } from "./util.ts";

export class Chaos {
  #faultWindow: Window | undefined;
  /** Set while the server is down or restarting: nothing else is started then. */
  #restarting: Promise<void> | undefined;

  constructor(
    readonly soak: SoakContext,
    readonly server: ServerProcess,
    readonly controlUrl: string,
    readonly controlToken: string,
    readonly random: Random,
    readonly disk: Disk | undefined,
    /** Chaos ends here, before the deadline, so the end of the run shows the flows recovered. */
    readonly until: number,
  ) {
    // The server dying on its own is a finding; the soak restarts it and goes on.
    server.onUnexpectedExit = (how) => {
      soak.serverUp = false;
      soak.violation("server died", `the server exited without the soak stopping it (${how})`);
      if (soak.running) void this.restart("after it died").catch(() => undefined);
    };
  }

  /** Resolves when the server is up (a restart in progress has finished). */
  async up(): Promise<void> {
    while (this.#restarting) await this.#restarting;
  }

  async control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const reply = await request(this.soak, `${this.controlUrl}${path}`, {
      method,
      body,
      headers: { authorization: `Bearer ${this.controlToken}` },
      contract: "none",
      timeoutMs: 5000,
      signal: AbortSignal.timeout(6000),
    });
    return { status: reply.status, json: reply.json };
  }

  /** Random faults at the simulator, one every 1–4 s. */
  async faults(): Promise<void> {
    const s = this.soak.settings;
    while (this.soak.running && Date.now() < this.until) {
      await sleep(this.random.int(1000, 4000), this.soak.stop.signal);
      if (!this.soak.running || Date.now() >= this.until || this.#restarting) continue;
      const endpoint = this.random.chance(0.7) ? "token" : "altinn";
      const count = this.random.int(1, 3);
      const kind = this.random.pick(["status", "status", "delay", "drop"] as const);
      const fault: Record<string, unknown> = { endpoint, count };
      if (kind === "status") fault.status = this.random.pick(endpoint === "token" ? [500, 502, 503, 504] : [500, 502, 503, 429]);
      // Half the delays outlast the server's outbound timeout: an answer it gives up on.
      if (kind === "delay") fault.delayMs = this.random.chance(0.5) ? this.random.int(200, 2000) : this.random.int(s.outboundTimeoutSeconds * 1000 + 200, s.outboundTimeoutSeconds * 1000 + 2000);
      if (kind === "drop") fault.drop = true;
      try {
        this.#faultWindow ??= this.soak.open("fault");
        const answer = await this.control("POST", "/faults", fault);
        if (answer.status !== 200) this.soak.violation("simulator control refused a fault", `${JSON.stringify(fault)} → ${answer.status} ${JSON.stringify(answer.json)}`);
        else this.soak.tally.faults++;
      } catch {
        // the server went down meanwhile: the fault is gone with it
      }
    }
  }

  /** Follows the simulator's fault queue: the fault window stays open while any fault is pending. */
  async watchFaults(): Promise<void> {
    while (this.soak.running) {
      await sleep(500, this.soak.stop.signal);
      if (!this.#faultWindow || this.#restarting) continue;
      try {
        const state = await this.control("GET", "");
        const pending = Array.isArray(state.json?.faults) ? state.json.faults.length : 0;
        if (pending === 0) this.#closeFaults();
      } catch {
        // down: the restart clears the queue
      }
    }
  }

  #closeFaults(): void {
    if (this.#faultWindow) this.soak.close(this.#faultWindow);
    this.#faultWindow = undefined;
  }

  /** SIGKILL restarts and full disks, one at a time, every 8–25 s. */
  async disruptions(): Promise<void> {
    const s = this.soak.settings;
    if (!s.kills && !(s.diskFull && this.disk)) return;
    // The first comes soon (a short run sees one too); then they alternate, kill first.
    for (let n = 0; this.soak.running; n++) {
      await sleep(n === 0 ? this.random.int(5000, 10_000) : this.random.int(8000, 25_000), this.soak.stop.signal);
      if (!this.soak.running || Date.now() >= this.until) return;
      const kill = s.kills && (!(s.diskFull && this.disk) || n % 2 === 0);
      if (kill) await this.restart("SIGKILL");
      else await this.fillDisk();
    }
  }

  /** SIGKILL of the group, then a restart on the same DATA_DIR at once (the lock must let it in). */
  restart(why: string): Promise<void> {
    const byKill = why === "SIGKILL";
    if (this.#restarting) return this.#restarting;
    this.#restarting = (async () => {
      const window = this.soak.open("restart");
      this.soak.serverUp = false;
      this.#closeFaults(); // the queue dies with the process
      const killedAt = Date.now();
      await this.server.kill();
      if (byKill) this.soak.tally.kills++;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.server.start();
          break;
        } catch (error) {
          if (!(error instanceof StartFailed)) throw error;
          this.soak.violation("restart refused", `start ${attempt} after ${why}: ${error.message}`);
          if (attempt >= 3) {
            this.soak.stop.abort();
            throw error;
          }
          await sleep(1000);
        }
      }
      const down = Date.now() - killedAt;
      this.soak.tally.restartDowntimesMs.push(down);
      this.soak.note(`${why}: server down ${down} ms`);
      this.soak.epoch++;
      this.soak.serverUp = true;
      this.soak.close(window);
    })().finally(() => (this.#restarting = undefined));
    return this.#restarting;
  }

  async fillDisk(): Promise<void> {
    const disk = this.disk;
    if (!disk) return;
    const window = this.soak.open("disk-full");
    try {
      let bytes: number;
      try {
        bytes = disk.fill();
      } catch (error) {
        this.soak.warning(`disk-full skipped: ${(error as Error).message}`);
        return;
      }
      this.soak.tally.diskWindows++;
      const holdMs = this.random.int(2000, 5000);
      this.soak.note(`disk full (${bytes} bytes of filler) for ${holdMs} ms`);
      await sleep(holdMs);
    } finally {
      disk.free();
      this.soak.close(window);
    }
  }

  /** The end of the chaos: the queue cleared, the disk freed. */
  async calm(): Promise<void> {
    await this.up();
    this.disk?.free();
    try {
      await this.control("DELETE", "/faults");
    } catch {
      // down
    }
    this.#closeFaults();
  }
}
