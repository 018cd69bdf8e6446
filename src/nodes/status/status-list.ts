import { DIRECTIONS, FINAL_STATUSES, RECEIPT_STATUSES, type Direction, type ReceiptStatus } from '../../schemas/status';

/**
 * A comma-separated list of status values ("LEVERT, LEST") as an array; empty or absent gives `fallback`.
 * An unknown value is an error naming `field` and the ten values the IP knows.
 */
export function parseStatusList(value: unknown, field: string, fallback: readonly ReceiptStatus[]): ReceiptStatus[] {
  const items = splitList(value, field);
  if (items.length === 0) return [...fallback];
  return items.map((item) => {
    const status = item.toUpperCase() as ReceiptStatus;
    if (!RECEIPT_STATUSES.includes(status)) {
      throw new Error(`${field}: "${item}" is not a status; expected one or more of ${RECEIPT_STATUSES.join(', ')}`);
    }
    return status;
  });
}

/** A comma-separated list of directions (INCOMING, OUTGOING); empty gives an empty list (= any direction). */
export function parseDirectionList(value: unknown, field: string): Direction[] {
  return splitList(value, field).map((item) => {
    const direction = item.toUpperCase() as Direction;
    if (!DIRECTIONS.includes(direction)) throw new Error(`${field}: "${item}" is not a direction; expected INCOMING or OUTGOING`);
    return direction;
  });
}

/** A comma-separated list of service identifiers (DPO, DPF, …), upper-cased; empty gives an empty list. */
export function parseServiceList(value: unknown, field: string): string[] {
  return splitList(value, field).map((item) => {
    if (!/^[A-Za-z]{3,10}$/.test(item)) throw new Error(`${field}: "${item}" is not a service identifier such as DPO or DPF`);
    return item.toUpperCase();
  });
}

/** True for the statuses after which nothing more happens to a message (`msg.final`). */
export function isFinalStatus(status: string | null | undefined): boolean {
  return status !== null && status !== undefined && (FINAL_STATUSES as readonly string[]).includes(status);
}

function splitList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => splitList(v, field));
  if (typeof value !== 'string') throw new Error(`${field}: expected a comma-separated list, got ${typeof value}`);
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
