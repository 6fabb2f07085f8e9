/**
 * The layer rules: imports only point down. `npm run lint:layers` checks them (and `npm test`
 * runs it first); docs/DEVELOPING.md "Rooms and what they may import" explains them.
 *
 *   src/cli.ts, src/processes/ ──── start everything; src/temporal/worker.ts registers activities/index.ts
 *   src/api/, src/ws/ ───────────── the HTTP and WebSocket edges
 *   activities/ ─────────────────── Temporal's I/O: call the commands and everything below
 *   src/jobs/, src/tasks/ ───────── commands shared by the API, the hub and activities (start workflows)
 *   src/data/, src/db/, src/events/, src/llm/, src/metrics/ ── data access, outbox, switcher, metrics
 *   PURE ────────────────────────── no I/O: src/annotation, src/quality, src/net, src/llm's pure files
 *   workflows/ ──────────────────── the workflow SDK and PURE; activities only as types
 *
 * Rules with `...RUNTIME` ignore type-only imports (`import type`, erased at compile time):
 * workflows/ type their activity proxies with activities/' types, a pure module may name a type
 * of an I/O module, and a cycle through a type-only import is no cycle at run time. The other
 * rules count types too: a type lives in the room below, as its code does.
 */

/** Modules without I/O: safe for workflows (deterministic, bundled into the sandbox) and for unit tests without a database. */
const PURE = [
  '^src/annotation/',
  '^src/quality/',
  '^src/net/',
  // The pure parts of src/llm: money, parsing, prompts, retry rules and the in-memory stages.
  '^src/llm/(builtin-engines|circuit-breaker|cost|deadline|errors|local-engine|memory-cache|parse|prompt|rate-limiter|retry-policy|single-flight|types|write-ahead)\\.ts$',
];

/** A pattern for the resolved path of these packages (`names` is a regex alternation). */
const npm = (names) => `(^|/)node_modules/(${names})/`;

/** Packages and node built-ins that reach a database, a network, a process or a file. */
const IO_PACKAGES = npm(
  'knex|knex-pglite|pg|objection|@electric-sql/pglite|@temporalio/(client|worker|activity|testing)|koa|@koa/[^/]+|co-body|ws|node-fetch|openai|@anthropic-ai/sdk|prom-client|pino',
);
const IO_BUILTINS = '^(node:)?(fs|net|http|https|http2|dns|tls|dgram|child_process|cluster|worker_threads|readline|repl|inspector)($|/)';

/** Code that ships (tests and scripts may reach into any layer). */
const PRODUCTION = '^(src|workflows|activities|migrations)/';

const RUNTIME = { dependencyTypesNot: ['type-only'] };

module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycles',
      comment: 'Modules form no cycle of runtime imports (a cycle makes an import undefined while the modules load). Cycles through a type-only import are erased at compile time.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: RUNTIME },
    },
    {
      name: 'src-not-to-activities',
      comment: 'src/ (the API, jobs, tasks, …) never imports activities/: what both need lives in src/ (queries in src/data/). The worker bootstrap registers them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/temporal/worker\\.ts$' },
      to: { path: '^activities/' },
    },
    {
      name: 'worker-imports-activities-index-only',
      comment: 'The worker bootstrap registers the merged activities (activities/index.ts), never one file of them.',
      severity: 'error',
      from: { path: '^src/temporal/worker\\.ts$' },
      to: { path: '^activities/', pathNot: '^activities/index\\.ts$' },
    },
    {
      name: 'only-the-migration-list-imports-migrations',
      comment: 'Migrations are history, not a library: only src/db/migrations.ts (their ordered list) imports them. A constant a migration uses lives in src/ and the migration imports it.',
      severity: 'error',
      from: { pathNot: '^src/db/migrations\\.ts$' },
      to: { path: '^migrations/' },
    },
    {
      name: 'migrations-import-pure-only',
      comment: 'A migration may import a constant (a pure module), never code that reads or writes the database as it is today.',
      severity: 'error',
      from: { path: '^migrations/' },
      to: { dependencyTypes: ['local'], pathNot: PURE, ...RUNTIME },
    },
    {
      name: 'workflows-import-the-workflow-sdk-only',
      comment: 'Workflow code is deterministic and bundled into the sandbox: of packages, only @temporalio/workflow and @temporalio/common; no node built-ins.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'], pathNot: npm('@temporalio/(workflow|common)'), ...RUNTIME },
    },
    {
      name: 'workflows-import-pure-modules-only',
      comment: 'Workflows call activities through proxies typed with `import type`; at run time they import only other workflows and pure modules.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['local'], pathNot: ['^workflows/', ...PURE], ...RUNTIME },
    },
    {
      name: 'pure-imports-no-io',
      comment: 'Pure rooms import no database, network, Temporal client, HTTP server or file system.',
      severity: 'error',
      from: { path: PURE },
      to: { path: [IO_PACKAGES, IO_BUILTINS], ...RUNTIME },
    },
    {
      name: 'pure-imports-pure-only',
      comment: 'A pure module stays pure only if what it imports is: at run time it imports only other pure modules.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['local'], pathNot: PURE, ...RUNTIME },
    },
    {
      name: 'only-src-llm-talks-to-providers',
      comment:
        'Provider SDKs, the HTTP transport and src/llm/providers/ are reached through the switcher only, which owns deadlines, parsing, cost and the ledger. providers/egress.ts is the egress policy (the API checks an engine URL against it when the engine is saved), not a way to send.',
      severity: 'error',
      from: {
        path: '^(src|workflows|activities|migrations|scripts)/',
        pathNot: '^src/llm/',
      },
      to: { path: [npm('openai|@anthropic-ai/sdk|node-fetch'), '^src/llm/providers/(?!egress\\.ts$)'] },
    },
    {
      name: 'data-access-below-commands',
      comment:
        'Data access, the outbox, the LLM switcher and the metrics registry sit below the commands (src/jobs, src/tasks), Temporal (src/temporal, workflows/, activities/) and the edges (src/api, src/ws, src/processes, the CLI): they never import them.',
      severity: 'error',
      from: { path: '^src/(data|db|events|llm|metrics)/' },
      to: { path: '^(src/(api|ws|processes|jobs|tasks|temporal)/|src/cli\\.ts$|workflows/|activities/)' },
    },
    {
      name: 'only-the-cli-imports-processes',
      comment: 'src/processes/ (dev, api, worker) are the top: only the CLI (src/cli-server.ts, which src/cli.ts loads for the server commands) starts them, nothing imports them or the CLI.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(cli\\.ts$|cli-server\\.ts$|processes/)' },
      to: { path: '^src/(processes/|cli\\.ts$|cli-server\\.ts$)' },
    },
    {
      name: 'client-talks-http-only',
      comment: 'src/client/ (the CLI commands that call a running API) reaches the service over HTTP only: it imports no server room, only itself and the CLI\'s UsageError.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/client/', '^src/cli-args\\.ts$'] },
    },
    {
      name: 'only-the-cli-imports-the-client',
      comment: 'The API client and its progress rendering serve the CLI; the server never imports them.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^src/(cli\\.ts$|client/)' },
      to: { path: '^src/client/' },
    },
    {
      name: 'activities-not-to-edges',
      comment: 'Activities sit below the HTTP and WebSocket edges and the processes that start them.',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^src/(api|ws|processes)/|^src/cli\\.ts$' },
    },
    {
      name: 'production-not-to-test',
      comment: 'Code that ships never imports test code.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { path: '^test/' },
    },
    {
      name: 'production-not-to-dev-deps',
      comment: 'Code that ships imports only `dependencies` at run time (a devDependency is absent from the image).',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { dependencyTypes: ['npm-dev'], ...RUNTIME },
    },
    {
      name: 'app-is-browser-code',
      comment:
        'The web app (app/) runs in the browser and talks to the service through its HTTP and WebSocket API only: at run time it imports other app/ modules and preact, nothing of the service.',
      severity: 'error',
      from: { path: '^app/' },
      to: { pathNot: ['^app/', npm('preact')], ...RUNTIME },
    },
    {
      name: 'service-not-to-app',
      comment: 'The service serves the built app (dist/app) as files; no code of it imports app/ sources.',
      severity: 'error',
      from: { path: '^(src|workflows|activities|migrations|scripts)/' },
      to: { path: '^app/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Paths stay node_modules/… when node_modules is a symlink (git worktrees share one).
    preserveSymlinks: true,
    // `import type` and type-only re-exports count, marked `type-only` (the rules above say where they are allowed).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
