#!/usr/bin/env node
// Failure unless main() completes: a strategy's process.exit(), a never-settling promise or a
// crash can end the process early, and none of them may look like success to a CI gate.
process.exitCode = 1;
// A reader that stops early (`quotarace trace ... | head`) closes the pipe: stop quietly.
// Output that cannot be written (stdout is a full disk, > /dev/full): one line, exit 2
// (an output path quotarace cannot write), never a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 1);
    if (stream === process.stdout) {
      try {
        process.stderr.write(`quotarace: cannot write the standard output (${(e && e.code) || String(e)})\n`);
      } catch {
        // stderr is gone too: the exit code says it
      }
    }
    process.exit(2);
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
