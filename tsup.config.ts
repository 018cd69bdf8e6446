import { defineConfig } from 'tsup';
import { readdirSync } from 'node:fs';

// One entry per Node-RED node (Node-RED loads each node's .js beside its .html), the library entry and the
// simulator CLI, built together with code splitting so that the nodes share one copy of the client
// (an IntegrasjonspunktError from the config node's client is then an instanceof in every node).
const nodeEntries = Object.fromEntries(
  readdirSync('src/nodes')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [`nodes/${f.replace(/\.ts$/, '')}`, `src/nodes/${f}`]),
);

export default defineConfig({
  entry: { index: 'src/index.ts', 'simulator/cli': 'src/simulator/cli.ts', ...nodeEntries },
  format: ['cjs'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  outDir: 'dist',
  external: ['node-red'],
});
