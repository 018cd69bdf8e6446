#!/usr/bin/env node
// Builds the package: tsup for the TypeScript, then copies the editor side
// (each node's .html, icons, locales) beside the built node .js files,
// because Node-RED looks for `<type>.html` next to `<type>.js`.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Copies nodes/*.html, icons/ and locales/ into `distDir`/nodes (also used by the benchmarks' own builds). */
function copyEditorFiles(distDir) {
  const from = path.join(root, 'nodes');
  const to = path.join(distDir, 'nodes');
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) fs.cpSync(src, path.join(to, entry.name), { recursive: true });
    else if (entry.name.endsWith('.html')) fs.copyFileSync(src, path.join(to, entry.name));
  }
}

if (require.main === module) {
  execFileSync(process.execPath, [require.resolve('tsup/dist/cli-default.js'), '--silent'], { cwd: root, stdio: 'inherit' });
  copyEditorFiles(path.join(root, 'dist'));
  fs.chmodSync(path.join(root, 'dist', 'simulator', 'cli.js'), 0o755);
}

module.exports = { copyEditorFiles };
