import { runExport, EXPORT_USAGE } from './commands/export';
import { runImport, IMPORT_USAGE } from './commands/import';
import { runJobs, JOBS_USAGE } from './commands/jobs';
import { runPreAnnotate, PRE_ANNOTATE_USAGE } from './commands/pre-annotate';
import { ApiRequestError, ClientCommandError } from './api-client';

/** The commands that talk to a running API (base URL and token from --url/--token or ANNO_URL/ANNO_TOKEN). */
export const CLIENT_COMMANDS: Record<string, { usage: string; run: (args: string[]) => Promise<number> }> = {
  import: { usage: IMPORT_USAGE, run: async (args) => (await runImport(args), 0) },
  'pre-annotate': { usage: PRE_ANNOTATE_USAGE, run: runPreAnnotate },
  jobs: { usage: JOBS_USAGE, run: runJobs },
  export: { usage: EXPORT_USAGE, run: async (args) => (await runExport(args), 0) },
};

/**
 * Runs a client command; an API refusal or an unreachable API is one line on stderr and exit 1
 * (a usage mistake is the CLI's UsageError, exit 2).
 */
export async function runClientCommand(command: string, args: string[]): Promise<number> {
  try {
    return await CLIENT_COMMANDS[command].run(args);
  } catch (err) {
    if (err instanceof ClientCommandError) process.stderr.write(`\n${err.message}\n`);
    else if (err instanceof ApiRequestError) process.stderr.write(`\nanno ${command}: ${err.describe()}\n`);
    else if (err instanceof TypeError && /fetch failed/.test(err.message)) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      process.stderr.write(`\nanno ${command}: cannot reach the API (${cause?.code ?? cause?.message ?? err.message}); check --url or ANNO_URL\n`);
    } else throw err;
    return 1;
  }
}
