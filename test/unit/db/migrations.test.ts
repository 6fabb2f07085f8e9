import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from '../../../src/db/migrations';

const names = MIGRATIONS.map(([name]) => name);

test('migrations run in the order of their file names', () => {
  expect(names).toEqual([...names].sort());
  expect(new Set(names).size).toBe(names.length);
});

test('the list holds every file of migrations/, each under its file name', () => {
  const files = fs
    .readdirSync(path.join(__dirname, '../../../migrations'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  expect(names).toEqual(files);
});

test('each name runs its own file', () => {
  for (const [name, migration] of MIGRATIONS) {
    expect(migration).toBe(require(path.join(__dirname, '../../../migrations', name)));
  }
});
