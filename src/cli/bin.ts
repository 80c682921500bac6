#!/usr/bin/env node
// The `lifeguard` executable (package.json "bin"): runs the command line and exits with its code.
import { main } from './main.js';

// `lifeguard monitor | head`: a closed pipe ends the run quietly
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

void main().then((code) => {
  process.exitCode = code;
});
