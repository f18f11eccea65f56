#!/usr/bin/env node
// Failure unless main() completes: a strategy's process.exit(), a never-settling promise or a
// crash can end the process early, and none of them may look like success to a CI gate.
process.exitCode = 1;
// A reader that stops early (`quotarace trace ... | head`) closes the pipe: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 1);
    throw e;
  });
}
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (e) {
  // A checkout installed without typescript (an optional dependency) has no dist/.
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/main.js')) {
    process.stderr.write('quotarace: dist/ is not built: npm install typescript, then npm run build\n');
    process.exit(1);
  }
  throw e;
}
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    let text;
    try {
      text = e instanceof Error ? e.message : String(e);
    } catch {
      text = Object.prototype.toString.call(e);
    }
    process.stderr.write(`quotarace: internal error: ${text}\n`);
    process.exitCode = 1;
  },
);
