import type { Page } from '../schemas/page';

/** Spring's serialised Sort. */
export interface SortState {
  empty: boolean;
  sorted: boolean;
  unsorted: boolean;
}

/** A page exactly as the IP serialises Spring's PageImpl (§2.3). */
export interface SpringPage<T> extends Page<T> {
  pageable: {
    pageNumber: number;
    pageSize: number;
    sort: SortState;
    offset: number;
    paged: boolean;
    unpaged: boolean;
  };
  sort: SortState;
}

export interface SortOrder {
  property: string;
  direction: 'asc' | 'desc';
}

export interface ParsedPageRequest {
  page: number;
  size: number;
  sort: SortOrder[];
}

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 2000;

/**
 * Reads `page`, `size` and `sort` the way Spring's PageableHandlerMethodArgumentResolver does: bad or negative
 * numbers fall back to the defaults, `size` is capped at 2000, and each `sort` value is `prop[,prop…][,asc|desc]`.
 * `defaultSort` (same syntax) applies only when no `sort` parameter is given.
 */
export function parsePageRequest(query: URLSearchParams, defaultSort?: string): ParsedPageRequest {
  const page = parseNonNegativeInt(query.get('page'), 0);
  let size = parseNonNegativeInt(query.get('size'), DEFAULT_PAGE_SIZE);
  if (size < 1) size = DEFAULT_PAGE_SIZE;
  if (size > MAX_PAGE_SIZE) size = MAX_PAGE_SIZE;

  const sortValues = query.getAll('sort').filter((v) => v.trim() !== '');
  const sources = sortValues.length ? sortValues : defaultSort ? [defaultSort] : [];
  const sort = sources.flatMap(parseSortValue);
  return { page, size, sort };
}

function parseNonNegativeInt(value: string | null, fallback: number): number {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : fallback;
}

/** `lastUpdate,desc` → one order; `a,b,desc` → both descending, as Spring reads it. */
function parseSortValue(value: string): SortOrder[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (!parts.length) return [];
  let direction: 'asc' | 'desc' = 'asc';
  const last = parts[parts.length - 1].toLowerCase();
  if (last === 'asc' || last === 'desc') {
    direction = last;
    parts.pop();
  }
  return parts.map((property) => ({ property, direction }));
}

/** Reads `a.b.c` from an object. */
function readProperty(item: unknown, path: string): unknown {
  let value: unknown = item;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A number to compare by when the value is a number or a date(-time); otherwise undefined. */
function numericKey(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && DATE_TIME.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  return undefined;
}

/** Ascending comparison; null/undefined first (as H2/MySQL order NULLs in ascending sorts). */
export function compareValues(a: unknown, b: unknown): number {
  const aMissing = a === null || a === undefined;
  const bMissing = b === null || b === undefined;
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? -1 : 1;
  const na = numericKey(a);
  const nb = numericKey(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Sorts a copy of `items` by the orders, stable (Array.prototype.sort is stable). */
export function sortItems<T>(items: T[], orders: SortOrder[]): T[] {
  const copy = items.slice();
  if (!orders.length) return copy;
  copy.sort((x, y) => {
    for (const { property, direction } of orders) {
      const c = compareValues(readProperty(x, property), readProperty(y, property));
      if (c !== 0) return direction === 'desc' ? -c : c;
    }
    return 0;
  });
  return copy;
}

function sortState(orders: SortOrder[]): SortState {
  const sorted = orders.length > 0;
  return { empty: !sorted, sorted, unsorted: !sorted };
}

/** Builds the PageImpl JSON for an already sorted and sliced list. */
export function toPage<T>(content: T[], request: { page: number; size: number; sort?: SortOrder[] }, totalElements: number): SpringPage<T> {
  const { page, size } = request;
  const totalPages = Math.ceil(totalElements / size);
  const sort = sortState(request.sort ?? []);
  return {
    content,
    pageable: {
      pageNumber: page,
      pageSize: size,
      sort: { ...sort },
      offset: page * size,
      paged: true,
      unpaged: false,
    },
    last: page + 1 >= totalPages,
    totalPages,
    totalElements,
    size,
    number: page,
    sort,
    first: page === 0,
    numberOfElements: content.length,
    empty: content.length === 0,
  };
}

/**
 * One page of `items` from the query's `page`, `size` and `sort` (Spring Data semantics, §2.3).
 * `defaultSort` such as `id,asc` is used when the query has no `sort`.
 */
export function paginate<T>(items: T[], query: URLSearchParams, defaultSort?: string): SpringPage<T> {
  const request = parsePageRequest(query, defaultSort);
  const sorted = sortItems(items, request.sort);
  const offset = request.page * request.size;
  const content = offset < sorted.length ? sorted.slice(offset, offset + request.size) : [];
  return toPage(content, request, items.length);
}
