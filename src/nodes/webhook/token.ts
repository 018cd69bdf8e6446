import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh secret for the pushEndpoint's `token` query parameter: 32 random bytes, URL-safe. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * True when `given` (the request's `token` query parameter) is the node's token. Compared in constant time so the
 * answer time does not reveal how much of a guess was right; comparing SHA-256 digests (always 32 bytes) keeps the
 * token's length from showing too. An empty expected token matches nothing.
 */
export function tokenMatches(given: unknown, expected: string | undefined): boolean {
  if (typeof given !== 'string' || !expected) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}
