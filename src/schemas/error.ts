import { z } from 'zod';

export const FieldError = z.looseObject({
  codes: z.array(z.string()).optional(),
  defaultMessage: z.string().optional(),
  objectName: z.string().optional(),
  field: z.string().optional(),
  rejectedValue: z.unknown().optional(),
  bindingFailure: z.boolean().optional(),
  code: z.string().optional(),
});

/** The IP's error body (§10). */
export const IpErrorBody = z.looseObject({
  timestamp: z.string(),
  status: z.number().int(),
  error: z.string(),
  exception: z.string().optional(),
  message: z.string().optional(),
  path: z.string(),
  description: z.string().optional(),
  errors: z.array(FieldError).optional(),
  trace: z.array(z.string()).optional(),
});
export type IpErrorBody = z.infer<typeof IpErrorBody>;

export const EXCEPTION_PACKAGE = 'no.difi.meldingsutveksling.exceptions.';
