import { defineConfig } from 'tsup';
import { readdirSync } from 'node:fs';

// One entry per Node-RED node (Node-RED loads each node's .js beside its .html),
// plus the library entry and the simulator CLI.
const nodeEntries = readdirSync('src/nodes')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => `src/nodes/${f}`);

export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'simulator/cli': 'src/simulator/cli.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: true,
    outDir: 'dist',
  },
  ...(nodeEntries.length
    ? [
        {
          entry: nodeEntries,
          format: ['cjs' as const],
          target: 'node20',
          platform: 'node' as const,
          sourcemap: true,
          outDir: 'dist/nodes',
          external: ['node-red'],
        },
      ]
    : []),
]);
