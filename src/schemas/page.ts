import { z } from 'zod';

const Sort = z.looseObject({ empty: z.boolean(), sorted: z.boolean(), unsorted: z.boolean() });

/** Spring's serialised PageImpl (§2.3). We rely only on the counters and `content`. */
export function Page<T extends z.ZodType>(item: T) {
  return z.looseObject({
    content: z.array(item),
    pageable: z.unknown().optional(),
    last: z.boolean(),
    totalPages: z.number().int(),
    totalElements: z.number().int(),
    size: z.number().int(),
    number: z.number().int(),
    sort: Sort.optional(),
    first: z.boolean(),
    numberOfElements: z.number().int(),
    empty: z.boolean(),
  });
}

export interface Page<T> {
  content: T[];
  last: boolean;
  totalPages: number;
  totalElements: number;
  size: number;
  number: number;
  first: boolean;
  numberOfElements: number;
  empty: boolean;
  [key: string]: unknown;
}

/** Paging and sorting parameters of the list endpoints. `sort` is `property[,asc|desc]`, repeatable. */
export interface PageRequest {
  page?: number;
  size?: number;
  sort?: string | string[];
}
