import assert from 'node:assert/strict';
import { INBOX_DEFAULTS, readInboxSettings } from '../src/nodes/inbox/settings';

describe('inbox settings', () => {
  it('gives the editor defaults for empty properties', () => {
    const s = readInboxSettings({ interval: '', output: '', ack: '', maxPerPoll: '', maxBytes: '' });
    assert.equal(s.intervalMs, INBOX_DEFAULTS.interval * 1000);
    assert.equal(s.output, 'files');
    assert.equal(s.ack, 'auto');
    assert.equal(s.maxPerPoll, INBOX_DEFAULTS.maxPerPoll);
    assert.equal(s.maxBytes, INBOX_DEFAULTS.maxBytes);
    assert.deepEqual(s.filter, {});
  });

  it('accepts numbers as strings (editor) and as numbers (hand-written flows)', () => {
    assert.equal(readInboxSettings({ interval: '30' }).intervalMs, 30_000);
    assert.equal(readInboxSettings({ interval: 30 }).intervalMs, 30_000);
    assert.equal(readInboxSettings({ interval: 0 }).intervalMs, 0);
    assert.equal(readInboxSettings({ maxPerPoll: '5' }).maxPerPoll, 5);
    assert.equal(readInboxSettings({ maxBytes: 1024 }).maxBytes, 1024);
  });

  it('names the property and what was expected', () => {
    assert.throws(() => readInboxSettings({ interval: 'often' }), /^Error: interval: expected seconds between polls/);
    assert.throws(() => readInboxSettings({ interval: 0.5 }), /interval: expected .* at least 1/);
    assert.throws(() => readInboxSettings({ maxPerPoll: '0' }), /maxPerPoll: expected a whole number of messages, at least 1, got "0"/);
    assert.throws(() => readInboxSettings({ maxBytes: 1.5 }), /maxBytes: expected a whole number of bytes/);
    assert.throws(() => readInboxSettings({ output: 'stream' }), /output: expected one of files, asic, path, got "stream"/);
    assert.throws(() => readInboxSettings({ ack: 'never' }), /ack: expected one of auto, manual/);
    assert.throws(() => readInboxSettings({ output: 'path' }), /directory: expected the folder/);
    assert.throws(() => readInboxSettings({ serviceIdentifier: 'DPX' }), /serviceIdentifier: expected one of DPO, DPV/);
    assert.throws(() => readInboxSettings({ senderIdentifier: '12345' }), /senderIdentifier: expected an organisation number/);
  });

  it('builds the peek filter, with bare organisation numbers', () => {
    const s = readInboxSettings({
      output: 'path',
      directory: ' /tmp/inbox ',
      serviceIdentifier: 'DPO',
      process: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
      conversationId: '7d2e9f14-0b5a-4c6e-a8d3-1f9b7c4e2a60',
      senderIdentifier: '0192:910000009',
      receiverIdentifier: '920000008',
    });
    assert.equal(s.directory, '/tmp/inbox');
    assert.deepEqual(s.filter, {
      serviceIdentifier: 'DPO',
      process: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
      conversationId: '7d2e9f14-0b5a-4c6e-a8d3-1f9b7c4e2a60',
      senderIdentifier: '910000009',
      receiverIdentifier: '920000008',
    });
  });
});
