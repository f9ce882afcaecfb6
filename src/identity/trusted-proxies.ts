// TRUSTED_PROXIES: the reverse proxies whose TRUSTED_USER_HEADER is believed. Pure (config.ts uses it).

/** TRUSTED_PROXIES: addresses (IPv4/IPv6) or IPv4 CIDR ranges, comma-separated. */
export function parseTrustedProxies(value: string | undefined): { matches(address: string | undefined): boolean; problems: string[] } {
  const entries = (value ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  const problems: string[] = [];
  const rules: Array<(address: string) => boolean> = [];
  for (const entry of entries) {
    const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(entry);
    if (cidr) {
      const base = ipv4(cidr[1]!);
      const bits = Number(cidr[2]);
      if (base === null || bits > 32) problems.push(`"${entry}" is not an IPv4 range`);
      else {
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        rules.push((address) => {
          const a = ipv4(address.replace(/^::ffff:/, ""));
          return a !== null && (a & mask) >>> 0 === (base & mask) >>> 0;
        });
      }
    } else if (ipv4(entry) !== null || /^[0-9a-f:]+$/i.test(entry)) {
      const wanted = entry.toLowerCase();
      rules.push((address) => address.toLowerCase().replace(/^::ffff:/, "") === wanted);
    } else problems.push(`"${entry}" is not an IP address or IPv4 range`);
  }
  return { matches: (address) => address !== undefined && rules.some((rule) => rule(address)), problems };
}

function ipv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}
