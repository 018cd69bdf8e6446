import { bareIdentifier } from '../../schemas/sbd';
import { toIdentifier } from '../../sbd/build';
import { toNumber } from '../shared/typed';

/** A receiver as the capabilities endpoint takes it: the bare organisation number or 11-digit person id. */
export function receiverForLookup(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') {
    throw new Error(`${field}: expected the receiver's organisation number (e.g. 910000009) or 11-digit person id, got nothing`);
  }
  return bareIdentifier(toIdentifier(value as string, field).value) as string;
}

/** Security level 3 or 4, or undefined when not set. */
export function securityLevelOf(value: unknown, field: string): number | undefined {
  const level = toNumber(value, NaN, field);
  if (Number.isNaN(level)) return undefined;
  if (level !== 3 && level !== 4) throw new Error(`${field}: expected security level 3 or 4, got ${String(value)}`);
  return level;
}
