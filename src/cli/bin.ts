#!/usr/bin/env node
// The `lifeguard` executable (package.json "bin"): runs the command line and exits with its code.
import { main } from './main.js';

void main().then((code) => {
  process.exitCode = code;
});
