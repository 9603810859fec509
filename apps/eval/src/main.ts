/** `lss-eval` entry point: see `lss-eval --help` and README.md. */
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2));
