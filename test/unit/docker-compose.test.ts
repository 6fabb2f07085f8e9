import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/temporal/dev-server';

/**
 * Static checks of docker-compose.yml and the Dockerfile. No Docker engine runs on the
 * development machines or in CI, so these read the files; they don't build or start anything.
 */

const root = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

type Env = Record<string, string | number | boolean | null>;
interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string | string[];
  environment?: Env | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  ports?: (string | number | { published?: string | number; target: number })[];
  restart?: string;
}
interface Compose {
  version?: unknown;
  services: Record<string, Service>;
}

// Compose resolves YAML merge keys (`<<: *anchor`); the yaml package does so on request.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;
const configSource = read('src/config.ts');

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition ?? 'service_started']));
}

function hasHealthcheck(service: Service): boolean {
  const hc = service.healthcheck;
  if (!hc || hc.disable) return false;
  const test = Array.isArray(hc.test) ? hc.test : [hc.test];
  return test.length > 0 && test[0] !== 'NONE' && test.some((t) => typeof t === 'string' && t.trim() !== '');
}

/** Host ports a service publishes ("3000:3000", "127.0.0.1:8080:8080", long syntax). */
function publishedPorts(service: Service): string[] {
  return (service.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') return p.published === undefined ? [] : [String(p.published)];
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    return parts.length >= 2 ? [parts[parts.length - 2]] : [];
  });
}

describe('docker-compose.yml', () => {
  const names = Object.keys(services ?? {});

  it('uses the Compose spec (no version key) and has the whole stack', () => {
    expect(compose.version).toBeUndefined();
    expect(names).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal-admin-tools',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'migrate',
        'api',
        'worker',
      ]),
    );
  });

  it('gives every service an image or a build', () => {
    for (const name of names) {
      const s = services[name];
      expect({ name, ok: Boolean(s.image || s.build) }).toEqual({ name, ok: true });
    }
  });

  it('pins every pulled image to a tag, never latest, and never uses the deprecated auto-setup image', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image) continue;
      expect(s.image).not.toMatch(/auto-setup/);
      if (s.build) continue; // the service's own image, built here
      const tag = s.image.includes(':') ? s.image.slice(s.image.lastIndexOf(':') + 1) : '';
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^\d/) });
    }
  });

  it('runs Temporal server and admin tools from the same release', () => {
    const serverTag = services.temporal.image!.split(':')[1];
    expect(services.temporal.image).toMatch(/^temporalio\/server:/);
    for (const name of ['temporal-admin-tools', 'temporal-setup']) {
      expect(services[name].image).toMatch(/^temporalio\/admin-tools:/);
      const tag = services[name].image!.split(':')[1];
      expect(tag === serverTag || tag.startsWith(`${serverTag}-`)).toBe(true);
    }
    expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:\d/);
  });

  it('runs the Temporal server release the dev server and the tests run, with the same priority and fairness switches', () => {
    const cli = process.env.TEMPORAL_CLI_PATH;
    if (cli) {
      // e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
      const version = execFileSync(cli, ['--version'], { encoding: 'utf8' });
      expect(services.temporal.image).toBe(`temporalio/server:${/Server (\d+\.\d+\.\d+)/.exec(version)![1]}`);
    }
    const mount = ((services.temporal as { volumes?: string[] }).volumes ?? []).find((v) => v.startsWith('./deploy/temporal/'))!;
    const [hostPath, containerPath] = mount.split(':');
    expect(containerPath).toBe(`/etc/temporal/${envOf(services.temporal).DYNAMIC_CONFIG_FILE_PATH}`);
    const dynamic = parse(read(hostPath)) as Record<string, { value: unknown }[]>;
    for (const kv of DEV_SERVER_DYNAMIC_CONFIG.filter((kv) => !kv.includes('Partitions'))) {
      const [key, value] = kv.split('=');
      expect({ key, value: dynamic[key]?.[0]?.value }).toEqual({ key, value: JSON.parse(value) });
    }
  });

  it('points every depends_on at an existing service with a valid condition', () => {
    const valid = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, s] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependsOn(s))) {
        expect({ name, target, exists: names.includes(target) }).toEqual({ name, target, exists: true });
        expect(valid).toContain(condition);
        if (condition === 'service_healthy') {
          expect({ name, target, healthcheck: hasHealthcheck(services[target]) }).toEqual({ name, target, healthcheck: true });
        }
        if (condition === 'service_completed_successfully') {
          // A job that others wait on to finish must not be restarted.
          expect({ name, target, restart: services[target].restart ?? 'no' }).toEqual({ name, target, restart: 'no' });
        }
      }
    }
  });

  it('orders start-up: schema, then server, then namespace, then the service', () => {
    expect(dependsOn(services['temporal-admin-tools'])).toEqual({ postgresql: 'service_healthy' });
    expect(dependsOn(services.temporal)['temporal-admin-tools']).toBe('service_completed_successfully');
    expect(dependsOn(services['temporal-setup']).temporal).toBe('service_healthy');
    expect(dependsOn(services.migrate).postgresql).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      expect(dependsOn(services[name])).toMatchObject({
        migrate: 'service_completed_successfully',
        'temporal-setup': 'service_completed_successfully',
      });
    }
  });

  it('sets up both Temporal databases with the postgres12 schema tool', () => {
    const script = [services['temporal-admin-tools'].command].flat().join('\n');
    expect(script).toMatch(/temporal-sql-tool/);
    expect(script).toMatch(/postgres12/);
    for (const step of ['create-database', 'setup-schema', 'update-schema']) expect(script).toContain(step);
    expect(script).toContain('/etc/temporal/schema/postgresql/v12');
    expect(script).toMatch(/temporal_visibility/);
    expect(envOf(services.temporal)).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  });

  it('registers the namespace and the search attributes the workflows write', () => {
    const script = [services['temporal-setup'].command].flat().join('\n');
    expect(script).toContain('temporal operator namespace create');
    expect(script).toContain('temporal operator search-attribute create');
    expect(script).toMatch(/--type Keyword/);
    for (const attr of ['AnnotationTenantId', 'AnnotationProjectId', 'AnnotationJobType']) expect(script).toContain(attr);
  });

  it('has healthchecks on postgresql, temporal and api', () => {
    for (const name of ['postgresql', 'temporal', 'api']) {
      expect({ name, healthcheck: hasHealthcheck(services[name]) }).toEqual({ name, healthcheck: true });
    }
    expect([services.api.healthcheck!.test].flat().join(' ')).toContain('http://127.0.0.1:3000/ready');
  });

  it('runs migrate, api and worker from the service image with their role', () => {
    expect(services.migrate.command).toEqual(['migrate']);
    expect(services.api.command).toEqual(['api']);
    expect(services.worker.command).toEqual(['worker']);
    for (const name of ['migrate', 'api', 'worker']) expect(services[name].build).toBeDefined();
    expect(services.migrate.image).toBe(services.api.image);
    expect(services.worker.image).toBe(services.api.image);
  });

  it("bounds the worker's JS heap, sizes its young generation and keeps source maps on", () => {
    const options = String(envOf(services.worker).NODE_OPTIONS);
    expect(options).toContain('--enable-source-maps');
    expect(options).toMatch(/--max-old-space-size=\$\{WORKER_MAX_OLD_SPACE_MB:-\d+\}/);
    expect(options).toMatch(/--max-semi-space-size=\$\{WORKER_SEMI_SPACE_MB:-32\}/);
  });

  it('gives api and worker the same database and Temporal address, reachable inside the stack', () => {
    const api = envOf(services.api);
    const worker = envOf(services.worker);
    for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'JWT_SECRET']) {
      expect(api[key]).toBeTruthy();
      expect(worker[key]).toBe(api[key]);
    }
    expect(envOf(services.migrate).DATABASE_URL).toBe(api.DATABASE_URL);
    expect(api.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/[^@]+@postgresql:5432\/annotation$/);
    expect(api.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(api.NODE_ENV).toBe('production');
    expect(api.TEMPORAL_UI_URL).toBe('http://localhost:8080');
    expect(api.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.+\}$/);
    expect(worker.LLM_CONCURRENCY).toBeDefined();
  });

  it('sets only settings that src/config.ts reads (and NODE_OPTIONS, which node reads)', () => {
    for (const name of ['migrate', 'api', 'worker']) {
      for (const key of Object.keys(envOf(services[name])).filter((k) => k !== 'NODE_OPTIONS')) {
        const known = new RegExp(`\\b${key}\\s*:`).test(configSource);
        expect({ service: name, key, known }).toEqual({ service: name, key, known: true });
      }
    }
  });

  it('publishes unique host ports: API 3000, Temporal 7233, UI 8080', () => {
    const all = Object.values(services).flatMap(publishedPorts);
    expect(new Set(all).size).toBe(all.length);
    expect(publishedPorts(services.api)).toEqual(['3000']);
    expect(publishedPorts(services.temporal)).toEqual(['7233']);
    expect(publishedPorts(services['temporal-ui'])).toEqual(['8080']);
    // Scaled workers must not fight over a host port.
    expect(publishedPorts(services.worker)).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  // Instructions with line continuations joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const line of instructions) {
    if (/^FROM\s/i.test(line)) stages.push([line]);
    else stages[stages.length - 1]?.push(line);
  }
  const finalStage = stages[stages.length - 1] ?? [];
  const lastOf = (keyword: string) =>
    [...finalStage].reverse().find((l) => new RegExp(`^${keyword}\\s`, 'i').test(l));

  it('is multi-stage on node:20-bookworm-slim, with npm ci, the build and a prune', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it('runs the final stage as a non-root user', () => {
    const user = lastOf('USER');
    expect(user).toBeDefined();
    const name = user!.split(/\s+/)[1].split(':')[0];
    expect(['root', '0']).not.toContain(name);
  });

  it('starts dist/src/cli.js with api as the default role, and ships the workflow sources', () => {
    const entrypoint = JSON.parse(lastOf('ENTRYPOINT')!.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    expect(entrypoint).toEqual(['node', 'dist/src/cli.js']);
    const cmd = JSON.parse(lastOf('CMD')!.replace(/^CMD\s+/i, '')) as string[];
    expect(cmd).toEqual(['api']);
    const copies = finalStage.filter((l) => /^COPY\s/i.test(l)).join('\n');
    expect(copies).toMatch(/\/app\/dist\b/);
    expect(copies).toMatch(/\/app\/workflows\b/);
    expect(copies).toMatch(/\/app\/node_modules\b/);
  });

  it('keeps local state out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/).map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.tools', 'dist', '.git', 'coverage']));
  });
});
