// Idempotency keys: random UUIDs from the platform (Web Crypto where global, else node:crypto).

import { randomUUID as nodeRandomUUID } from "node:crypto";

export function randomUUID(): string {
  const webCrypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return webCrypto?.randomUUID ? webCrypto.randomUUID() : nodeRandomUUID();
}
