import type { z } from 'zod';
import { ValidationError, formatPath, joinParts, prefixIssues } from '../schemas/format';

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
  return new ValidationError(joinParts(parts), prefixIssues(error.issues, prefix));
}
