import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../cli-args';
import type { ClientOptions } from './api-client';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every client command takes. */
const COMMON: Options = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

export interface ParsedClientArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  client: ClientOptions;
  json: boolean;
}

/** The flags of a client command; UsageError (one line, exit 2) for an unknown or malformed flag. */
export function parseClientArgs(command: string, usage: string, args: string[], options: Options, env: NodeJS.ProcessEnv = process.env): ParsedClientArgs {
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(command, (err as Error).message.split('\n')[0], usage);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const url = (values.url as string | undefined) ?? env.ANNO_URL ?? 'http://localhost:3000';
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(command, `--url (or ANNO_URL) must be an http(s) URL, got ${JSON.stringify(url)}`, usage);
  const token = (values.token as string | undefined) ?? env.ANNO_TOKEN;
  return { values, positionals: parsed.positionals, client: { url, token: token || undefined }, json: values.json === true };
}

/** A required string flag. */
export function required(command: string, usage: string, values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(command, `missing --${name}`, usage);
  return v.trim();
}

/** A positive integer flag (or its default). */
export function positiveInt(command: string, usage: string, values: Record<string, unknown>, name: string, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(command, `--${name} must be a positive integer, got ${JSON.stringify(v)}`, usage);
  return n;
}
