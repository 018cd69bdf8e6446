import type { z } from 'zod';
import { ValidationError, formatPath } from '../schemas/format';

/**
 * One sentence for zod issues, each as `path: what was expected`, with `prefix` in front of every path
 * (e.g. `arkivmelding.tittel: expected a non-empty title`). Unknown fields are named one by one.
 */
export function issuesToError(error: z.ZodError, prefix: string): ValidationError {
  const parts: string[] = [];
  for (const issue of error.issues) {
    const where = formatPath([prefix, ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) parts.push(`${where}.${key}: unknown field`);
    } else {
      parts.push(`${where}: ${issue.message}`);
    }
  }
  const shown = parts.slice(0, 5).join('; ');
  const more = parts.length > 5 ? ` (and ${parts.length - 5} more)` : '';
  const issues = error.issues.map((i) => ({ ...i, path: [prefix, ...i.path] })) as z.core.$ZodIssue[];
  return new ValidationError(shown + more, issues);
}
