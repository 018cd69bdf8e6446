import { z } from 'zod';

/** A UUID in the loose 8-4-4-4-12 hex form the IP accepts (java.util.UUID), any version. */
export const Uuid = z.guid({ message: 'expected a UUID such as 5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13' });

/** ISO-8601 date-time; the IP writes an offset, and reads a value without one as Europe/Oslo time. */
export const DateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/, {
    message: 'expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00',
  });

/** yyyy-MM-dd */
export const LocalDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'expected a date as yyyy-MM-dd' });

export const SERVICE_IDENTIFIERS = ['DPO', 'DPV', 'DPI', 'DPF', 'DPE', 'DPH', 'UNKNOWN'] as const;
export const ServiceIdentifier = z.enum(SERVICE_IDENTIFIERS);
export type ServiceIdentifier = z.infer<typeof ServiceIdentifier>;

/** Maps an unknown service identifier to UNKNOWN, as the IP's enum deserialisation does. */
export const TolerantServiceIdentifier = z.preprocess(
  (v) => (typeof v === 'string' && !(SERVICE_IDENTIFIERS as readonly string[]).includes(v) ? 'UNKNOWN' : v),
  ServiceIdentifier,
);
