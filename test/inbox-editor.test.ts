import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const ROOT = path.join(__dirname, '..');
const html = fs.readFileSync(path.join(ROOT, 'nodes', 'eformidling-inbox.html'), 'utf8');
const PROPERTIES = [
  'name',
  'server',
  'interval',
  'output',
  'directory',
  'ack',
  'serviceIdentifier',
  'process',
  'conversationId',
  'senderIdentifier',
  'receiverIdentifier',
  'maxPerPoll',
  'maxBytes',
];
const MSG_FIELDS = ['payload', 'sbd', 'messageId', 'conversationId', 'sender', 'receiver', 'process', 'documentType', 'topic', 'arkivmelding', 'ack'];

interface Definition {
  category: string;
  color: string;
  icon: string;
  inputs: number;
  outputs: number;
  defaults: Record<string, { value: unknown; required?: boolean; type?: string; validate?: (this: Record<string, unknown>, v: unknown) => boolean }>;
}

/** Runs the editor script with a stand-in RED and returns what it registered. */
function registeredDefinition(): { type: string; definition: Definition } {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script, 'a text/javascript block');
  let registered: { type: string; definition: Definition } | undefined;
  const RED = {
    nodes: { registerType: (type: string, definition: Definition) => (registered = { type, definition }) },
    validators: { regex: (re: RegExp) => (v: unknown) => re.test(String(v)) },
  };
  const $ = () => ({ length: 0, val: () => undefined });
  vm.runInNewContext(script, { RED, $ });
  assert.ok(registered);
  return registered;
}

function catalog(lang: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', 'locales', lang, 'eformidling-inbox.json'), 'utf8'));
}

function lookup(tree: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);
}

describe('inbox editor files', () => {
  it('registers eformidling-inbox literally, with the fixed properties as inline defaults', () => {
    assert.match(html, /RED\.nodes\.registerType\('eformidling-inbox', \{/);
    const { type, definition } = registeredDefinition();
    assert.equal(type, 'eformidling-inbox');
    assert.equal(definition.category, 'eFormidling');
    assert.equal(definition.color, '#8ec5e8');
    assert.equal(definition.icon, 'eformidling.svg');
    assert.equal(definition.inputs, 1);
    assert.equal(definition.outputs, 1);
    assert.deepEqual(Object.keys(definition.defaults), PROPERTIES);
    assert.equal(definition.defaults.server.type, 'eformidling-config');
    for (const property of PROPERTIES.filter((p) => p !== 'name' && p !== 'server')) {
      assert.ok(html.includes(`id="node-input-${property}"`), `an input for ${property}`);
    }
  });

  it('validates the numbers and the folder', () => {
    const { defaults } = registeredDefinition().definition;
    const check = (property: string, value: unknown, node: Record<string, unknown> = {}) => defaults[property].validate!.call(node, value);
    assert.equal(check('interval', '30'), true);
    assert.equal(check('interval', 0), true);
    assert.equal(check('interval', ''), true);
    assert.equal(check('interval', '0.5'), false);
    assert.equal(check('interval', 'often'), false);
    assert.equal(check('maxPerPoll', '0'), false);
    assert.equal(check('maxPerPoll', '10'), true);
    assert.equal(check('maxBytes', '1.5'), false);
    assert.equal(check('directory', '', { output: 'path' }), false);
    assert.equal(check('directory', '', { output: 'files' }), true);
    assert.equal(check('senderIdentifier', '0192:910000009'), true);
    assert.equal(check('senderIdentifier', '1234'), false);
  });

  for (const lang of ['en-US', 'nb-NO']) {
    it(`${lang}: has every label the editor uses, and help for every msg field`, () => {
      const messages = catalog(lang);
      const keys = [...html.matchAll(/data-i18n="(?:\[placeholder\])?([\w.-]+)"/g), ...html.matchAll(/this\._\('([\w.-]+)'\)/g)].map((m) => m[1]);
      assert.ok(keys.length > 20);
      for (const key of keys) assert.equal(typeof lookup(messages, key), 'string', `${lang}: ${key}`);
      // Every status text the node shows (statusText('<key>', …) in its source), retry reasons included.
      const source = fs.readFileSync(path.join(ROOT, 'src', 'nodes', 'eformidling-inbox.ts'), 'utf8');
      const statusKeys = [...source.matchAll(/statusText\('([\w.]+)'/g)].map((m) => m[1]);
      assert.ok(statusKeys.includes('reason.unreachable') && statusKeys.includes('retry'), statusKeys.join(', '));
      for (const key of statusKeys) {
        assert.equal(typeof lookup(messages, `eformidling-inbox.status.${key}`), 'string', `${lang}: status.${key}`);
      }
      const help = fs.readFileSync(path.join(ROOT, 'nodes', 'locales', lang, 'eformidling-inbox.html'), 'utf8');
      assert.match(help, /<script type="text\/html" data-help-name="eformidling-inbox">/);
      for (const field of MSG_FIELDS) assert.match(help, new RegExp(`<dt( class="optional")?>${field} `), `${lang}: help for msg.${field}`);
    });
  }

  it('nb-NO is a translation, not a copy', () => {
    const en = catalog('en-US');
    const nb = catalog('nb-NO');
    assert.notEqual(lookup(nb, 'eformidling-inbox.label.interval'), lookup(en, 'eformidling-inbox.label.interval'));
    assert.notEqual(lookup(nb, 'eformidling-inbox.status.counts'), lookup(en, 'eformidling-inbox.status.counts'));
    assert.notEqual(lookup(nb, 'eformidling-inbox.status.reason.unreachable'), lookup(en, 'eformidling-inbox.status.reason.unreachable'));
  });
});
