// The Flow Library scorecard (`node-red-dev validate`, node-red/node-red-dev-cli) applied offline: the real tool
// stops without network because it fetches the Flow Library's catalogue, so this test checks its criteria itself,
// reading the html files the way its parser does (each `<script type="text/javascript">` block parsed as JavaScript,
// `RED.nodes.registerType('<literal>', { ...inline literals })`).
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nodeSets: Record<string, string> = pkg['node-red']?.nodes ?? {};
/** The minimum Node.js of the newest Node-RED major (5.x). */
const NODE_RED_5_MIN_NODE = '22.9.0';
/** Credentials each node type declares (design.md); the html must declare the same, inline. */
const CREDENTIALS: Record<string, string[]> = {
  'eformidling-config': ['username', 'password'],
  'eformidling-webhook-in': ['token'],
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildIfStale } = require(path.join(root, 'scripts', 'start.js')) as { buildIfStale(): boolean };
/** semver as Node-RED itself uses it (a dependency of the node-red devDependency). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require(require.resolve('semver', { paths: [path.dirname(require.resolve('node-red/package.json'))] })) as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
  lt(a: string, b: string): boolean;
};

/** What the scorecard's parser reads from one registerType call; `problems` are its *-not-inline codes and more. */
interface NodeDefinition {
  type: string;
  properties: Map<string, ts.Expression>;
  problems: string[];
}

function isLiteral(e: ts.Expression): boolean {
  return (
    ts.isStringLiteral(e) ||
    ts.isNumericLiteral(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    e.kind === ts.SyntaxKind.NullKeyword
  );
}

/** The registerType calls in the `<script type="text/javascript">` blocks of an html file. */
function nodeDefinitions(htmlFile: string): NodeDefinition[] {
  const html = fs.readFileSync(htmlFile, 'utf8');
  const blocks = [...html.matchAll(/<script.+?type=['"]text\/javascript['"].*?>([\S\s]*?)<\/script>/gi)].map((m) => m[1]);
  assert.ok(blocks.length > 0, `${htmlFile}: no <script type="text/javascript"> block`);
  const found: NodeDefinition[] = [];
  for (const block of blocks) {
    const source = ts.createSourceFile('block.js', block, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    const syntaxErrors = ts.transpileModule(block, { fileName: 'block.js', reportDiagnostics: true, compilerOptions: { allowJs: true } }).diagnostics ?? [];
    assert.deepEqual(syntaxErrors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')), [], `${htmlFile}: the script parses`);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'registerType') {
        const [typeArg, defArg] = node.arguments;
        const problems: string[] = [];
        const properties = new Map<string, ts.Expression>();
        if (!ts.isStringLiteral(typeArg)) problems.push('non-literal type');
        if (!defArg || !ts.isObjectLiteralExpression(defArg)) problems.push('non-objectexpression definition');
        else {
          for (const p of defArg.properties) {
            // The scorecard reads `key.name`: only plain identifier keys count.
            if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) properties.set(p.name.text, p.initializer);
          }
        }
        found.push({ type: ts.isStringLiteral(typeArg) ? typeArg.text : typeArg.getText(source), properties, problems });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** Every file under `dir`, recursively (as the scorecard's getAllFiles). */
function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('Flow Library scorecard (node-red-dev validate), offline criteria', () => {
  let definitions: NodeDefinition[] = [];

  before(function () {
    this.timeout(120000);
    buildIfStale(); // the scorecard reads the html beside each built .js
    definitions = Object.values(nodeSets).flatMap((js) => nodeDefinitions(path.join(root, js.replace(/\.js$/, '.html'))));
  });

  it('P01: has a licence (SPDX id and a LICENSE file)', () => {
    assert.match(String(pkg.license ?? ''), /^[A-Za-z0-9.-]+$/);
    assert.ok(fs.existsSync(path.join(root, 'LICENSE')), 'LICENSE file');
  });

  it('P03: has a repository or bugs URL', () => {
    const url = pkg.repository?.url ?? pkg.repository ?? pkg.bugs?.url ?? pkg.bugs;
    assert.match(String(url ?? ''), /^(git\+)?https?:\/\//);
  });

  it('P04: is named node-red-contrib-* (or scoped)', () => {
    assert.match(pkg.name, /^(@[a-z0-9-~][a-z0-9-._~]*\/)?node-red-contrib-[a-z0-9-]+$|^@[a-z0-9-~][a-z0-9-._~]*\/[a-z0-9-._~]+$/);
  });

  it('P05: has the node-red keyword', () => {
    assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.includes('node-red'));
  });

  it('P06: declares node-red.version, satisfied by Node-RED 4 (the devDependency) and Node-RED 5', () => {
    const range = pkg['node-red']?.version;
    assert.ok(range, 'node-red.version');
    const installed = JSON.parse(fs.readFileSync(require.resolve('node-red/package.json'), 'utf8')).version as string;
    for (const version of [installed, '5.0.0']) assert.ok(semver.satisfies(version, range), `${range} allows Node-RED ${version}`);
  });

  it(`P07: engines.node is set; below Node-RED 5's minimum (${NODE_RED_5_MIN_NODE}) only as the documented, deliberate warning`, () => {
    const range = pkg.engines?.node;
    assert.ok(range, 'engines.node');
    const min = semver.minVersion(range)?.version ?? '0.0.0';
    if (semver.lt(min, NODE_RED_5_MIN_NODE)) {
      const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
      assert.match(readme, /engines\.node/, 'README explains why engines.node is below Node-RED 5’s minimum');
      console.log(`      ⚠ P07 (deliberate): engines.node ${range} is below Node-RED 5's minimum ${NODE_RED_5_MIN_NODE}, so Node-RED 4 on Node 20 stays supported`);
    }
  });

  it('N01: node types carry the package prefix (eformidling-), so they do not clash in the catalogue', () => {
    assert.ok(definitions.length > 0);
    for (const d of definitions) assert.match(d.type, /^eformidling-[a-z-]+$/);
  });

  it('each html registers its type with a literal name and an inline definition the scorecard can read', () => {
    const types = definitions.map((d) => d.type).sort();
    assert.deepEqual(types, Object.keys(nodeSets).sort(), 'one registerType per node-red.nodes entry, same names');
    for (const d of definitions) {
      assert.deepEqual(d.problems, [], d.type);
      const prop = (name: string) => d.properties.get(name);
      const defaults = prop('defaults');
      assert.ok(defaults && ts.isObjectLiteralExpression(defaults), `${d.type}: defaults inline`);
      const category = prop('category');
      assert.ok(category && ts.isStringLiteral(category), `${d.type}: category a literal`);
      const isConfig = category.text === 'config';
      if (!isConfig) {
        assert.equal(category.text, 'eFormidling', `${d.type}: category`);
        for (const name of ['color', 'icon', 'inputs', 'outputs']) {
          const value = prop(name);
          assert.ok(value && isLiteral(value), `${d.type}: ${name} an inline literal`);
        }
      }
      const expectedCredentials = CREDENTIALS[d.type];
      const credentials = prop('credentials');
      if (expectedCredentials) {
        assert.ok(credentials && ts.isObjectLiteralExpression(credentials), `${d.type}: credentials inline`);
        const names = credentials.properties.map((p) => (p.name && ts.isIdentifier(p.name) ? p.name.text : '?'));
        assert.deepEqual(names.sort(), [...expectedCredentials].sort(), `${d.type}: credentials`);
      } else {
        assert.equal(credentials, undefined, `${d.type}: no credentials`);
      }
    }
  });

  it('N02: every file in examples/ is a flow, and every non-config node is used in at least one', () => {
    const files = allFiles(path.join(root, 'examples'));
    const used = new Set<string>();
    for (const file of files) {
      let flow: unknown;
      try {
        flow = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        assert.fail(`${path.relative(root, file)}: not JSON (${(err as Error).message})`);
      }
      // The scorecard calls forEach on each file; Node-RED lists each one under Import > Examples.
      assert.ok(
        Array.isArray(flow),
        `${path.relative(root, file)} is not a flow (a JSON array of nodes), so neither the scorecard nor Import > Examples can read it; keep other files out of examples/`,
      );
      for (const node of flow as Array<{ type?: string }>) if (node.type) used.add(node.type);
    }
    const nonConfig = definitions.filter((d) => {
      const c = d.properties.get('category');
      return !(c && ts.isStringLiteral(c) && c.text === 'config');
    });
    for (const d of nonConfig) assert.ok(used.has(d.type), `${d.type} is used in an example flow`);
  });

  it('D01: at most 6 runtime dependencies', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    assert.ok(deps.length <= 6, `${deps.length} dependencies: ${deps.join(', ')}`);
  });
});
