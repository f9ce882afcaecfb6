// Who a person is to a client. ID-porten's `sub` is pairwise: stable for one person and one client,
// different for another client, and never the national identity number (that is the `pid` claim).
// The simulator derives it as HMAC-SHA256(secret, client_id + pid), the secret kept (sealed) with
// its keys, so it survives a restart.

import { fromBase64Url, toBase64Url } from "../crypto/secrets.ts";

export type PairwiseSubject = (clientId: string, pid: string) => Promise<string>;

export async function pairwiseSubjects(secret: string): Promise<PairwiseSubject> {
  const key = await crypto.subtle.importKey("raw", fromBase64Url(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return async (clientId, pid) => {
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${clientId}\n${pid}`));
    return toBase64Url(new Uint8Array(mac));
  };
}
