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
  return formatIssues(error.issues, what);
}

/** formatZodError for issues at hand (e.g. after prefixIssues). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], what = 'input'): string {
  const parts = issues.map((issue) => {
    const where = formatPath(issue.path);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  return `Invalid ${what}: ${joinParts(parts)}`;
}

/** The first five parts joined with "; ", then how many more there are. */
export function joinParts(parts: readonly string[]): string {
  const more = parts.length > 5 ? ` (and ${parts.length - 5} more)` : '';
  return parts.slice(0, 5).join('; ') + more;
}

/** The issues with `key` in front of each path, as if they came from the object holding them. */
export function prefixIssues(issues: readonly z.core.$ZodIssue[], key: PropertyKey): z.core.$ZodIssue[] {
  return issues.map((issue) => ({ ...issue, path: [key, ...issue.path] })) as z.core.$ZodIssue[];
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
