import type { z } from 'zod';

/** `standardBusinessDocumentHeader.receiver[0].identifier.value` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * One readable sentence for a failed validation, naming each path and what was expected,
 * e.g. "Invalid SBD: standardBusinessDocumentHeader.receiver[0].identifier.value: expected ...".
 */
export function formatZodError(error: z.ZodError, what = 'input'): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const where = formatPath(issue.path);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `Invalid ${what}: ${parts.join('; ')}${more}`;
}

/** Thrown by our parse helpers; `message` is the sentence a user sees. */
export class ValidationError extends Error {
  readonly issues: z.core.$ZodIssue[];
  constructor(message: string, issues: z.core.$ZodIssue[] = []) {
    super(message);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(formatZodError(result.error, what), result.error.issues);
  return result.data;
}
