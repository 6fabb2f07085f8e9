#!/usr/bin/env node
import { UsageError } from './cli-args';
import { ConfigError } from './config';
import { CLIENT_COMMANDS, runClientCommand } from './client';

const USAGE = `Usage: anno <command>

  dev       everything in one process on embedded defaults (npm start)
  api       the HTTP API and WebSocket hub (needs TEMPORAL_ADDRESS)
  worker    the Temporal workers (needs TEMPORAL_ADDRESS)
  migrate   apply database migrations
  bundle-workflows  write the workflow bundle for a build [--out FILE] (default dist/workflow-bundle.js)
  token     print a development JWT: --tenant T --sub U --roles admin[,manager...] [--projects id,id] [--expires 24h]

Talking to a running API (--url / ANNO_URL, default http://localhost:3000; --token / ANNO_TOKEN):
  import        ${CLIENT_COMMANDS.import.usage}
  pre-annotate  ${CLIENT_COMMANDS['pre-annotate'].usage}
  jobs          ${CLIENT_COMMANDS.jobs.usage}
  export        ${CLIENT_COMMANDS.export.usage}
  On a terminal progress is a bar on stderr; otherwise plain lines, or JSON lines with --json.
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  if (Object.hasOwn(CLIENT_COMMANDS, command)) {
    // A client of the API: no server configuration is read.
    process.exitCode = await runClientCommand(command, rest);
    return;
  }
  // Loaded on demand: the client commands above need none of it (seconds of start-up saved).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runServerCommand } = require('./cli-server') as typeof import('./cli-server');
  if (!(await runServerCommand(command, rest))) {
    process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
    process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2; // EX_USAGE-like, as for an unknown command
    return;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 78; // EX_CONFIG
    return;
  }
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
