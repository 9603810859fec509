#!/usr/bin/env node
/** Entry point of the `lss-concepts` bin (see `@lss/concepts/node` `runCli`). */
import { runCli } from './node/cli.js';

process.exitCode = await runCli(process.argv.slice(2));
