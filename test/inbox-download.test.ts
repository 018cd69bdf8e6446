import assert from 'node:assert/strict';
import { partialPathOf, safeFileName } from '../src/nodes/inbox/download';

describe('inbox download names', () => {
  it('writes a download under a hidden name beside the destination', () => {
    assert.equal(partialPathOf('/data/inbox/5b8f1e0a.asic.zip'), '/data/inbox/.5b8f1e0a.asic.zip.part');
  });

  it('makes names that stay inside the folder', () => {
    assert.equal(safeFileName('5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13.asic.zip'), '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13.asic.zip');
    assert.equal(safeFileName('../../etc/passwd'), '__.._etc_passwd');
    assert.equal(safeFileName(''), '_');
  });
});
