import { parseArgs } from 'node:util';
import { mintToken } from './auth/jwt';
import { UsageError, parseTokenArgs } from './cli-args';
import { loadConfig, type Config } from './config';
import { createDatabase, isEmbedded, migrateLatest } from './db/knex';
import { registerEnvironmentEngine } from './llm/env-engine';
import { createLogger } from './logger';
import { runApiProcess } from './processes/api';
import { runDevProcess } from './processes/dev';
import { runWorkerProcess } from './processes/worker';
import { writeWorkflowBundle } from './temporal/worker';

/**
 * The commands that run the service (the CLI loads this module only for them, so the client
 * commands start without loading Temporal, the database drivers and the API).
 */

function openDatabase(config: Config) {
  return createDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir, poolMax: config.DATABASE_POOL_MAX });
}

/** The server's commands (dev, api, worker, migrate, bundle-workflows, token); false for an unknown one. */
export async function runServerCommand(command: string, rest: string[]): Promise<boolean> {
  if (command === 'bundle-workflows') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
    process.stdout.write(`workflow bundle written to ${await writeWorkflowBundle(values.out)}\n`);
    return true;
  }
  const config = loadConfig();
  const logger = createLogger(config);

  switch (command) {
    case 'token': {
      const options = parseTokenArgs(rest);
      if (!config.jwtSecret) throw new UsageError('token', 'JWT_SECRET is required to mint tokens');
      process.stdout.write(`${mintToken({ secret: config.jwtSecret, ...options })}\n`);
      return true;
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
      return true;
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
      return true;
    }
    default:
      return false;
  }
}

