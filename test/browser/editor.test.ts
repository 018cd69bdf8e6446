// The Node-RED editor in a real browser (playwright-core driving Debian's chromium), with the package installed
// from `npm pack` and the example flows deployed: it loads without console errors, the palette has the nodes
// under "eFormidling", every node's edit dialog and help work, and a Norwegian browser gets the nb-NO texts.
// Also takes the README's screenshot (docs/editor.png) when it is missing or EFORMIDLING_SCREENSHOT=1.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { KNOWN_DOCUMENT_TYPES, KNOWN_PROCESSES } from '../../src/schemas/processes';
import {
  NodeRedProcess,
  SimulatorProcess,
  eventually,
  exampleNodeId,
  makeTempDir,
  packPackage,
  packageName,
  repoRoot,
  startScript,
  userDirWithPackage,
  type FlowNode,
} from '../e2e/harness';

// The functions given to page.evaluate run in the browser; the project type-checks without the DOM library.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
type HTMLElement = any;

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Playwright itself adds --headless, --no-sandbox and a fresh --user-data-dir (the temp folder given to it).
const CHROMIUM_FLAGS = ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const NODE_TYPES = ['eformidling-config', 'eformidling-capabilities', 'eformidling-send', 'eformidling-inbox', 'eformidling-status', 'eformidling-webhook-in'];
const PALETTE_TYPES = NODE_TYPES.filter((t) => t !== 'eformidling-config'); // config nodes live in the Configuration nodes sidebar
/** A field each node's edit dialog must have (typedInputs hide the input itself and show their own widget). */
const DIALOG_FIELD: Record<string, string> = {
  'eformidling-config': '#node-config-input-url',
  'eformidling-capabilities': '#node-input-prefer',
  'eformidling-send': '#node-input-receiver',
  'eformidling-inbox': '#node-input-output',
  'eformidling-status': '#node-input-mode',
  'eformidling-webhook-in': '#node-input-path',
};
const screenshotFile = path.join(repoRoot, 'docs', 'editor.png');

type Catalog = Record<string, unknown>;

function catalog(lang: string, type: string): Catalog {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'nodes', 'locales', lang, `${type}.json`), 'utf8')) as Catalog;
}

function lookup(cat: Catalog, key: string): string | undefined {
  let value: unknown = cat;
  for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return typeof value === 'string' ? value : undefined;
}

/** The first words of a node's help text in `lang`, as plain text. */
function helpStart(lang: string, type: string): string {
  const html = fs.readFileSync(path.join(repoRoot, 'nodes', 'locales', lang, `${type}.html`), 'utf8');
  const text = html
    .replace(/<script[^>]*>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z]+;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.split(' ').slice(0, 6).join(' ');
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

interface OpenEditor {
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
  close(): Promise<void>;
}

async function openEditor(url: string, locale: string): Promise<OpenEditor> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'eformidling-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    locale,
    viewport: { width: 1600, height: 900 },
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  const consoleErrors: string[] = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  try {
    await page.goto(url);
    // The editor is ready when the palette has loaded the node definitions and the workspace shows the flows.
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="eformidling-send"]', { timeout: 30000 });
    await page.waitForFunction(() => document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node').length > 0, undefined, { timeout: 20000 });
  } catch (err) {
    await close();
    throw err;
  }
  return { context, page, consoleErrors, close };
}

/** Opens the edit dialog of the deployed node `id` (as a double click would), returns its data-i18n texts. */
async function openDialog(page: Page, type: string, id: string): Promise<Array<{ key: string; attr: string; text: string }>> {
  await page.evaluate(
    ({ type, id }) => {
      const RED = window.RED;
      const node = RED.nodes.node(id);
      if (type === 'eformidling-config') RED.editor.editConfig('', type, id);
      else {
        RED.workspaces.show(node.z);
        RED.editor.edit(node);
      }
    },
    { type, id },
  );
  await page.waitForSelector(`.red-ui-tray ${DIALOG_FIELD[type]}`, { state: 'attached', timeout: 10000 });
  await page.waitForSelector(type === 'eformidling-config' ? '#node-config-dialog-ok' : '#node-dialog-ok', { state: 'visible', timeout: 10000 });
  await page.waitForTimeout(300); // the dialog's oneditprepare finishes filling in
  return page.evaluate((type) => {
    const found: Array<{ key: string; attr: string; text: string }> = [];
    const tray = document.querySelector('.red-ui-tray:last-of-type') ?? document;
    for (const el of Array.from(tray.querySelectorAll('[data-i18n]')) as HTMLElement[]) {
      for (const entry of (el.getAttribute('data-i18n') ?? '').split(';')) {
        const match = /^(?:\[([a-z-]+)\])?(.+)$/.exec(entry.trim());
        if (!match) continue;
        const key = match[2].replace(/^node-red-contrib-eformidling\/[^:]+:/, '');
        if (!key.startsWith(`${type}.`)) continue;
        const attr = match[1] ?? 'text';
        const text = attr === 'text' || attr === 'html' ? (el.textContent ?? '') : (el.getAttribute(attr) ?? '');
        found.push({ key, attr, text });
      }
    }
    return found;
  }, type);
}

async function closeDialog(page: Page): Promise<void> {
  await page.evaluate(() => {
    const cancel = document.querySelector('#node-config-dialog-cancel') ?? document.querySelector('#node-dialog-cancel');
    cancel?.click();
  });
  await page.waitForFunction(() => !document.querySelector('.red-ui-tray'), undefined, { timeout: 10000 });
}

/** Shows a node type's help in the help sidebar and returns its text. */
async function helpText(page: Page, type: string): Promise<string> {
  await page.evaluate((type) => {
    window.RED.sidebar.help.show(type);
  }, type);
  const text = await page.waitForFunction(
    () => {
      const shown = (Array.from(document.querySelectorAll('#red-ui-sidebar .red-ui-help')) as HTMLElement[]).filter((e) => e.offsetParent !== null);
      return shown.map((e) => e.innerText).join(' ').trim() || false;
    },
    undefined,
    { timeout: 10000 },
  );
  return normalise(String(await text.jsonValue()));
}

describe('browser: the Node-RED editor with the package (chromium)', function () {
  this.timeout(60000);
  let simulator: SimulatorProcess | undefined;
  let nodeRed: NodeRedProcess | undefined;
  let flows: FlowNode[];
  let userDir: string | undefined;
  let filesDir: string | undefined;
  let editor: OpenEditor | undefined;

  /** One deployed node of each type, from the example flows. */
  const nodeOfType = (type: string): FlowNode => {
    const node = flows.find((n) => n.type === type);
    assert.ok(node, `the examples use a ${type} node`);
    return node;
  };

  before(async function () {
    this.timeout(180000);
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
    userDir = await userDirWithPackage(await packPackage());
    const packageDir = path.join(userDir, 'node_modules', packageName);
    simulator = await SimulatorProcess.start({ packageDir });
    nodeRed = await NodeRedProcess.start({ redJs: require.resolve('node-red/red.js'), userDir });
    filesDir = makeTempDir('files');
    flows = startScript.exampleFlows({ simulatorUrl: simulator.url, nodeRedUrl: nodeRed.url, filesDir, dir: path.join(packageDir, 'examples') });
    await nodeRed.deploy(flows);
  });

  afterEach(async () => {
    await editor?.close();
    editor = undefined;
  });

  after(async function () {
    this.timeout(30000);
    await nodeRed?.stop();
    await simulator?.stop();
    for (const dir of [userDir, filesDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the editor with the example tabs and no console errors', async () => {
    editor = await openEditor(nodeRed!.url, 'en-US');
    const tabs = await editor.page.locator('#red-ui-workspace-tabs .red-ui-tab').allInnerTexts();
    for (const { name } of startScript.exampleFiles()) {
      const label = exampleTab(name).label as string;
      assert.ok(tabs.some((t) => normalise(t) === normalise(label)), `a tab "${label}" among ${JSON.stringify(tabs)}`);
    }
    assert.deepEqual(editor.consoleErrors, []);
  });

  it('shows the nodes in the palette under eFormidling, and both config nodes in the Configuration nodes sidebar', async () => {
    editor = await openEditor(nodeRed!.url, 'en-US');
    const { page } = editor;
    for (const type of PALETTE_TYPES) {
      const node = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await node.count(), 1, `${type} in the palette`);
      const header = await node.evaluate((el) => el.closest('.red-ui-palette-category')?.querySelector('.red-ui-palette-header')?.textContent ?? '');
      assert.equal(normalise(header), 'eFormidling', `${type}'s palette category`);
    }
    const configCategory = await page.evaluate(() => window.RED.nodes.getType('eformidling-config').category as string);
    assert.equal(configCategory, 'config');
    await page.evaluate(() => window.RED.sidebar.show('config'));
    const configSidebar = normalise(await page.locator('#red-ui-sidebar').innerText());
    for (const name of ['simulator 910000009', 'simulator 920000008']) assert.ok(configSidebar.includes(name), `config node "${name}" in the sidebar`);
    assert.deepEqual(editor.consoleErrors, []);
  });

  for (const [locale, lang] of [
    ['en-US', 'en-US'],
    ['nb-NO', 'nb-NO'],
  ] as const) {
    it(`opens every node's edit dialog and help, with the ${lang} texts for a ${locale} browser`, async () => {
      editor = await openEditor(nodeRed!.url, locale);
      const { page } = editor;
      for (const type of NODE_TYPES) {
        const texts = await openDialog(page, type, nodeOfType(type).id);
        assert.ok(texts.length > 0, `${type}: the dialog has translated texts`);
        const cat = catalog(lang, type);
        for (const { key, attr, text } of texts) {
          const expected = lookup(cat, key);
          assert.ok(expected !== undefined, `${type}: ${lang} catalog has ${key}`);
          if (expected.includes('{{') || attr === 'html') continue;
          assert.equal(normalise(text), normalise(expected), `${type}: ${attr === 'text' ? '' : `[${attr}] `}${key}`);
        }
        if (type === 'eformidling-send' || type === 'eformidling-capabilities') {
          // The process and document type suggestions come from the package's admin route.
          const suggested = await page.waitForFunction(
            (type) => {
              const processes = document.querySelectorAll(`#${type}-processes option`).length;
              const types = document.querySelectorAll(`#${type}-types option`).length;
              return processes > 0 && types > 0 && { processes, types };
            },
            type,
            { timeout: 10000 },
          );
          assert.deepEqual(await suggested.jsonValue(), { processes: KNOWN_PROCESSES.length, types: KNOWN_DOCUMENT_TYPES.length }, `${type}: suggestions`);
        }
        await closeDialog(page);
        const help = await helpText(page, type);
        const start = helpStart(lang, type);
        assert.ok(help.includes(start), `${type}: the help shows "${start}…"; got "${help.slice(0, 200)}"`);
      }
      if (lang === 'nb-NO') {
        const label = await page.locator('.red-ui-palette-node[data-palette-type="eformidling-send"] .red-ui-palette-label').innerText();
        assert.equal(normalise(label), lookup(catalog('nb-NO', 'eformidling-send'), 'eformidling-send.paletteLabel'));
      }
      assert.deepEqual(editor.consoleErrors, []);
    });
  }

  it('shows messages going round (the screenshot for the README)', async () => {
    editor = await openEditor(nodeRed!.url, 'en-US');
    const { page } = editor;
    const tab = exampleTab('send-arkivmelding-with-pdf').id;
    await page.evaluate((tab) => {
      const RED = window.RED;
      RED.workspaces.show(tab);
      RED.sidebar.show('debug');
      RED.view.select('');
    }, tab);
    // The debug sidebar shows this tab's messages only, then a click on the inject node's button sends a PDF.
    await page.locator('#red-ui-sidebar-debug-filter').click();
    await page.locator('input[name="filter-type"][value="filterCurrent"]').click();
    await page.locator(`[id="${exampleNodeId('send-arkivmelding-with-pdf', 'every 30 s')}"] .red-ui-flow-node-button`).click();
    const waitNode = exampleNodeId('send-arkivmelding-with-pdf', 'wait for final status');
    await eventually('the debug sidebar to show the final status, and no message still waiting', 40000, async () =>
      page.evaluate((waitNode) => {
        const shown = (Array.from(document.querySelectorAll('#red-ui-sidebar .red-ui-debug-msg')) as HTMLElement[]).some(
          (m) => m.offsetParent !== null && m.innerText.includes('node: final status'),
        );
        const waiting = /waiting/.test(document.getElementById(waitNode)?.querySelector('.red-ui-flow-node-status-label')?.textContent ?? '');
        return shown && !waiting;
      }, waitNode),
    );
    await page.waitForFunction(() => !(Array.from(document.querySelectorAll('.red-ui-notification')) as HTMLElement[]).some((n) => n.offsetParent !== null), undefined, {
      timeout: 10000,
    });
    await page.waitForTimeout(500);
    const png = await page.screenshot();
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    if (process.env.EFORMIDLING_SCREENSHOT === '1' || !fs.existsSync(screenshotFile)) {
      fs.mkdirSync(path.dirname(screenshotFile), { recursive: true });
      fs.writeFileSync(screenshotFile, png);
    }
    assert.deepEqual(editor.consoleErrors, []);
  });

  /** The tab node of the example file `name`. */
  function exampleTab(name: string): FlowNode {
    const nodes = JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', `${name}.json`), 'utf8')) as FlowNode[];
    return nodes.find((n) => n.type === 'tab')!;
  }
});
