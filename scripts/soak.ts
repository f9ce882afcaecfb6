// npm run soak -- --flows N --minutes M
//
// Drives N authorization flows through the embedded ID-porten/Altinn simulator for M minutes while
// faults (5xx, delays, dropped connections at the token and Altinn endpoints), SIGKILL restarts and
// a full disk (root with tmpfs only) come at random, checking as it goes that no acknowledged change
// is lost, no authorization is lost to a fault it could survive, no token is handed out expired, the
// server never answers 500 and every error is problem+json; at the end, that no secret is in clear
// in DATA_DIR or the server's output and no process is left behind. Loopback only, bounded.
// Ends with one summary line; exit code 0 only with 0 violations (1: violations, 2: the soak itself
// failed, 130: interrupted). Details of each violation are printed to stderr as they are found.
//
// Options: --flows N (6) --minutes M (1; fractions allowed) or --seconds S, --seed N (repeat a run's
// choices), --no-kill, --no-disk, --no-faults, --no-idle (no keep-alive pauses), --verbose,
// --plant-secret (writes a token the soak received into DATA_DIR before the scan, to see it fail).
import { runSoak } from "./soak/run.ts";
import type { SoakSettings } from "./soak/context.ts";

function usage(problem: string): never {
  console.error(`soak: ${problem}\nusage: npm run soak -- [--flows N] [--minutes M | --seconds S] [--seed N] [--no-kill] [--no-disk] [--no-faults] [--no-idle] [--verbose] [--plant-secret]`);
  process.exit(2);
}

function parse(argv: string[]): SoakSettings {
  const settings: SoakSettings = {
    flows: 6,
    durationMs: 60_000,
    seed: Math.floor(Math.random() * 2 ** 31),
    accessTokenSeconds: 8,
    refreshTokenSeconds: 30,
    reuseGraceSeconds: 10,
    loginTimeoutSeconds: 8,
    outboundTimeoutSeconds: 3,
    kills: true,
    diskFull: true,
    faults: true,
    idle: true,
    plantSecret: false,
    verbose: false,
  };
  const number = (name: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min || n > max) usage(`${name} must be a number from ${min} to ${max} (got ${value ?? "nothing"})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--flows":
        settings.flows = Math.round(number("--flows", value(), 1, 200));
        break;
      case "--minutes":
        settings.durationMs = Math.round(number("--minutes", value(), 0.05, 24 * 60) * 60_000);
        break;
      case "--seconds":
        settings.durationMs = Math.round(number("--seconds", value(), 3, 24 * 3600) * 1000);
        break;
      case "--seed":
        settings.seed = Math.round(number("--seed", value(), 0, 2 ** 32 - 1));
        break;
      case "--no-kill":
        settings.kills = false;
        break;
      case "--no-disk":
        settings.diskFull = false;
        break;
      case "--no-faults":
        settings.faults = false;
        break;
      case "--no-idle":
        settings.idle = false;
        break;
      case "--plant-secret":
        settings.plantSecret = true;
        break;
      case "--verbose":
        settings.verbose = true;
        break;
      case "--help":
      case "-h":
        console.log("usage: npm run soak -- [--flows N] [--minutes M | --seconds S] [--seed N] [--no-kill] [--no-disk] [--no-faults] [--no-idle] [--verbose] [--plant-secret]");
        process.exit(0);
      default:
        usage(`unknown option ${arg}`);
    }
  }
  return settings;
}

const result = await runSoak(parse(process.argv.slice(2)), (line) => console.error(line));
console.log(result.summary);
process.exitCode = result.exitCode;
