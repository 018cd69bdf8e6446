import { strict as assert } from 'node:assert';
import { paginate, parsePageRequest } from '../src/simulator/paging';

const q = (s: string) => new URLSearchParams(s);

describe('simulator paging (Spring PageImpl)', () => {
  const items = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `n${7 - i}` }));

  it('renders the PageImpl JSON of §2.3 for page 1 of size 5, sorted', () => {
    const page = paginate(items, q('page=1&size=5&sort=id,asc'));
    assert.deepEqual(page, {
      content: [items[5], items[6]],
      pageable: {
        pageNumber: 1,
        pageSize: 5,
        sort: { empty: false, sorted: true, unsorted: false },
        offset: 5,
        paged: true,
        unpaged: false,
      },
      last: true,
      totalPages: 2,
      totalElements: 7,
      size: 5,
      number: 1,
      sort: { empty: false, sorted: true, unsorted: false },
      first: false,
      numberOfElements: 2,
      empty: false,
    });
  });

  it('defaults to page 0, size 10, unsorted in the given order', () => {
    const page = paginate(items, q(''));
    assert.equal(page.size, 10);
    assert.equal(page.number, 0);
    assert.equal(page.first, true);
    assert.equal(page.last, true);
    assert.equal(page.totalPages, 1);
    assert.deepEqual(page.sort, { empty: true, sorted: false, unsorted: true });
    assert.deepEqual(page.content.map((i) => i.id), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('shows an empty list as an empty, first and last page', () => {
    const page = paginate([], q(''));
    assert.equal(page.empty, true);
    assert.equal(page.totalPages, 0);
    assert.equal(page.totalElements, 0);
    assert.equal(page.first, true);
    assert.equal(page.last, true);
    assert.equal(page.numberOfElements, 0);
  });

  it('gives an empty page past the end', () => {
    const page = paginate(items, q('page=3&size=5'));
    assert.deepEqual(page.content, []);
    assert.equal(page.empty, true);
    assert.equal(page.last, true);
    assert.equal(page.pageable.offset, 15);
  });

  it('caps size at 2000 and falls back to defaults for bad numbers', () => {
    assert.equal(parsePageRequest(q('size=5000')).size, 2000);
    assert.equal(parsePageRequest(q('size=0')).size, 10);
    assert.equal(parsePageRequest(q('size=abc')).size, 10);
    assert.equal(parsePageRequest(q('page=-1')).page, 0);
  });

  it('sorts descending, by several repeated sort parameters, stably', () => {
    const rows = [
      { id: 1, group: 'b', n: 10 },
      { id: 2, group: 'a', n: 2 },
      { id: 3, group: 'b', n: 2 },
      { id: 4, group: 'a', n: 10 },
      { id: 5, group: 'a', n: 2 },
    ];
    assert.deepEqual(paginate(rows, q('sort=id,desc')).content.map((r) => r.id), [5, 4, 3, 2, 1]);
    assert.deepEqual(paginate(rows, q('sort=group&sort=n,desc')).content.map((r) => r.id), [4, 2, 5, 1, 3]);
    // equal keys keep their original order
    assert.deepEqual(paginate(rows, q('sort=n,asc')).content.map((r) => r.id), [2, 3, 5, 1, 4]);
  });

  it('compares numbers as numbers and date-times as instants, nested properties too', () => {
    const rows = [
      { id: 1, at: '2025-06-03T10:00:00.000+02:00', nested: { n: 9 } },
      { id: 2, at: '2025-06-03T09:30:00.000Z', nested: { n: 10 } },
      { id: 3, at: '2025-06-03T08:30:00.000+00:00', nested: { n: 100 } },
    ];
    // 08:00Z, 09:30Z, 08:30Z
    assert.deepEqual(paginate(rows, q('sort=at')).content.map((r) => r.id), [1, 3, 2]);
    assert.deepEqual(paginate(rows, q('sort=nested.n,desc')).content.map((r) => r.id), [3, 2, 1]);
  });

  it('uses the default sort only when no sort is given', () => {
    assert.deepEqual(paginate(items, q(''), 'id,desc').content.map((i) => i.id), [7, 6, 5, 4, 3, 2, 1]);
    assert.equal(paginate(items, q(''), 'id,desc').sort.sorted, true);
    assert.deepEqual(paginate(items, q('sort=name'), 'id,desc').content.map((i) => i.name), ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7']);
  });

  it('reads "a,b,desc" as both properties descending', () => {
    assert.deepEqual(parsePageRequest(q('sort=a,b,DESC')).sort, [
      { property: 'a', direction: 'desc' },
      { property: 'b', direction: 'desc' },
    ]);
  });
});
