#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { mintToken } from './auth/jwt';
import { UsageError, parseTokenArgs } from './cli-args';
import { ConfigError, loadConfig, type Config } from './config';
import { createDatabase, isEmbedded, migrateLatest } from './db/knex';
import { registerEnvironmentEngine } from './llm/env-engine';
import { createLogger } from './logger';
import { runApiProcess } from './processes/api';
import { runDevProcess } from './processes/dev';
import { runWorkerProcess } from './processes/worker';
import { writeWorkflowBundle } from './temporal/worker';
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

function openDatabase(config: Config) {
  return createDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir, poolMax: config.DATABASE_POOL_MAX });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'bundle-workflows') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
    process.stdout.write(`workflow bundle written to ${await writeWorkflowBundle(values.out)}\n`);
    return;
  }
  if (Object.hasOwn(CLIENT_COMMANDS, command)) {
    // A client of the API: no server configuration is read.
    process.exitCode = await runClientCommand(command, rest);
    return;
  }
  const config = loadConfig();
  const logger = createLogger(config);

  switch (command) {
    case 'token': {
      const options = parseTokenArgs(rest);
      if (!config.jwtSecret) throw new UsageError('token', 'JWT_SECRET is required to mint tokens');
      process.stdout.write(`${mintToken({ secret: config.jwtSecret, ...options })}\n`);
      return;
    }
    case 'migrate': {
      const db = openDatabase(config);
      try {
        const applied = await migrateLatest(db);
        await registerEnvironmentEngine(db, config);
        logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
      } finally {
        await db.destroy();
      }
      return;
    }
    case 'api':
    case 'worker':
    case 'dev': {
      const db = openDatabase(config);
      try {
        if (command === 'dev' || isEmbedded(db)) {
          // The embedded database has no separate migrate step: it is migrated on start.
          await migrateLatest(db);
          await registerEnvironmentEngine(db, config);
        }
        if (command === 'api') await runApiProcess(config, db, logger);
        else if (command === 'worker') await runWorkerProcess(config, db, logger);
        else await runDevProcess(config, db, logger);
      } finally {
        await db.destroy();
      }
      return;
    }
    default:
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
