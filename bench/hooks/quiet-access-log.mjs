// Preload for an A/B in bench/profile-token.ts (never used by the service itself):
//   node --import tsx --import ./bench/hooks/quiet-access-log.mjs src/main.node.ts
// console.log drops the access-log line ("<ISO time> POST /api/flows/… 200 3 ms") and prints
// everything else. What stays is the line's construction in src (loggablePath's URL parse, the
// template, the ISO date); what goes is console.log's formatting and the write to stdout.
const log = console.log;
const ACCESS_LINE = /^\S+ (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ \d{3} \d+ ms$/;
console.log = (...args) => {
  if (args.length === 1 && typeof args[0] === "string" && ACCESS_LINE.test(args[0])) return;
  log(...args);
};
