/**
 * Lints GET /openapi.json's document with Redocly's recommended ruleset (a real OpenAPI linter).
 * Prints one JSON line per problem ({severity, ruleId, message, pointer}) and exits 1 on any
 * error. A script, not a jest import: @redocly/openapi-core is ESM only, so
 * test/unit/api/openapi-document.test.ts runs this under tsx. `npm run lint:openapi`; with a
 * file argument it lints that JSON document instead (the test's deliberately broken one).
 */
import { readFile } from 'node:fs/promises';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { buildOpenApiDocument } from '../src/api/openapi';
import '../src/api/app'; // mounts the operational routes
import { createApiRouter } from '../src/api/router';

async function main(): Promise<void> {
  createApiRouter();
  const config = await createConfig({ extends: ['recommended'] });
  const file = process.argv[2];
  const source = file ? await readFile(file, 'utf8') : JSON.stringify(buildOpenApiDocument());
  const problems = await lintFromString({ source, absoluteRef: file ?? 'openapi.json', config });
  for (const p of problems) {
    console.log(JSON.stringify({ severity: p.severity, ruleId: p.ruleId, message: p.message, pointer: p.location[0]?.pointer }));
  }
  const errors = problems.filter((p) => p.severity === 'error').length;
  console.error(`openapi lint: ${errors} errors, ${problems.length - errors} warnings`);
  process.exitCode = errors ? 1 : 0;
}

void main();
