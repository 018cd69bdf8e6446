import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh secret for the pushEndpoint's `token` query parameter: 32 random bytes, URL-safe. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * True when `given` (the request's `token` query parameter) is the node's token. Compared in constant time so the
 * answer time does not reveal how much of a guess was right; an empty expected token matches nothing.
 */
export function tokenMatches(given: unknown, expected: string | undefined): boolean {
  if (typeof given !== 'string' || !expected) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
