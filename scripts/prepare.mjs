#!/usr/bin/env node
// `npm ci`'s prepare step: build dist/ so that bin/quotarace.js runs, with or without
// --omit=dev. It only emits (tsc --noCheck): @types/node is a dev dependency, and type
// errors are what `npm run build` and `npm run typecheck` report. Without type checking tsc
// writes the same dist/ byte for byte, declarations included (test/install.test.ts).
// `typescript` is an optional dependency: when it is absent (--omit=optional, or its
// platform binary could not be installed) a dist/ already here is kept, and otherwise the
// install still succeeds and bin/quotarace.js says how to build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  const kept = existsSync(join(root, 'dist', 'cli', 'main.js'));
  process.stderr.write(
    kept
      ? 'quotarace prepare: typescript is not installed; keeping the dist/ already here\n'
      : 'quotarace prepare: typescript (an optional dependency) is not installed, so dist/ was not built: npm install typescript, then npm run build\n',
  );
  process.exit(0);
}
// `--types ""`: tsconfig.json names @types/node, which a production install does not have.
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--types', ''], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
