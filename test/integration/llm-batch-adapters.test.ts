import type { EngineRecord } from '../../src/db/models';
import { createBatchProviders, type BatchResult, type BatchSnapshot, type ProviderBatchAdapter } from '../../src/llm/batch';
import crypto from 'node:crypto';
import { buildMessages } from '../../src/llm/prompt';
import type { ProjectContext } from '../../src/llm/types';
import { startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { waitFor } from '../helpers/wait';

/**
 * The provider batch adapters (src/llm/batch) through the official SDKs against the fake
 * servers over HTTP: submit, retrieve until ended, read results; per-request errors, expiry,
 * cancellation, and an idempotency key that creates one batch however often it is sent.
 */

let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
const providers = createBatchProviders();
const project: ProjectContext = { tenantId: 't', projectId: 'p', labelSchema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } };
const TEXTS = ['a positive review', 'a negative one', 'plainly neutral', 'no label named'];

function engineOf(provider: 'openai' | 'anthropic', baseUrl: string): EngineRecord {
  return {
    id: '00000000-0000-4000-8000-000000000001', tenant_id: 't', name: provider, provider, model: `fake-${provider}`, base_url: baseUrl, api_key_env: null,
    params: {}, price_input_per_1k: '0.002', price_output_per_1k: '0.004', batch: true, batch_price_input_per_1k: null, batch_price_output_per_1k: null,
    rate_limit: null, fallback_engine_ids: [], enabled: true,
  };
}

const linesFor = (adapter: ProviderBatchAdapter, engine: EngineRecord) =>
  TEXTS.map((text, i) => adapter.requestLine(engine, project.labelSchema, `item-${i}`, buildMessages({ project, item: { text } })));

async function untilEnded(adapter: ProviderBatchAdapter, engine: EngineRecord, id: string): Promise<BatchSnapshot> {
  return waitFor(() => adapter.retrieve(engine, id), (s) => s.ended, 5000, `batch ${id} ended`);
}

async function collect(adapter: ProviderBatchAdapter, engine: EngineRecord, snap: BatchSnapshot): Promise<Map<string, BatchResult>> {
  const out = new Map<string, BatchResult>();
  for await (const r of adapter.results(engine, snap)) out.set(r.customId, r);
  return out;
}

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeOpenAI({ batch: { processingMs: 100 } }), startFakeAnthropic({ batch: { processingMs: 100 } })]);
});
afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close()]);
});

describe.each(['openai', 'anthropic'] as const)('%s batch adapter', (provider) => {
  const adapter = () => providers[provider]!;
  const engine = () => engineOf(provider, provider === 'openai' ? openai.baseUrl : anthropic.baseUrl);
  const store = () => (provider === 'openai' ? openai.batches : anthropic.batches);

  beforeEach(() => store().setOptions({ requestFault: null, outcome: null, processingMs: 100 }));

  it('submits the sync request body per item, waits, and reads one answer per custom_id', async () => {
    const lines = linesFor(adapter(), engine());
    const body = JSON.parse(lines[0]);
    // The same structured-output request as a sync call.
    if (provider === 'openai') expect(body.body.response_format.json_schema.schema.properties.label.enum).toEqual(project.labelSchema.labels);
    else expect(body.params.output_config.format.schema.properties.label.enum).toEqual(project.labelSchema.labels);
    const created = store().created;
    const snap = await adapter().submit(engine(), crypto.randomUUID(), lines);
    expect(snap.ended).toBe(false);
    expect(snap.counts.total === 4 || snap.counts.processing === 4).toBe(true);
    expect(snap.expiresAt).not.toBeNull();
    const ended = await untilEnded(adapter(), engine(), snap.providerBatchId);
    expect(ended.counts).toMatchObject({ succeeded: 4, errored: 0 });
    const results = await collect(adapter(), engine(), ended);
    expect([...results.keys()].sort()).toEqual(['item-0', 'item-1', 'item-2', 'item-3']);
    const first = results.get('item-0')!;
    expect(first.ok && JSON.parse(first.text).label).toBe('positive');
    expect(first.ok && first.usage.promptTokens).toBeGreaterThan(0);
    expect(store().created).toBe(created + 1);
  });

  it('one idempotency key creates one batch however often it is submitted', async () => {
    const key = crypto.randomUUID();
    const created = store().created;
    const a = await adapter().submit(engine(), key, linesFor(adapter(), engine()));
    const b = await adapter().submit(engine(), key, linesFor(adapter(), engine()));
    expect(b.providerBatchId).toBe(a.providerBatchId);
    expect(store().created).toBe(created + 1);
    if (provider === 'openai') expect((await adapter().find(engine(), key))?.providerBatchId).toBe(a.providerBatchId);
  });

  it('reports per-request errors and an expired batch’s unanswered requests', async () => {
    store().setOptions({ requestFault: (r) => (r.lastUserText.includes('negative') ? { status: 500 } : r.lastUserText.includes('neutral') ? 'malformed' : null), outcome: () => ({ expire: true, answeredFraction: 0.75 }) });
    const snap = await untilEnded(adapter(), engine(), (await adapter().submit(engine(), crypto.randomUUID(), linesFor(adapter(), engine()))).providerBatchId);
    expect(snap.status).toBe(provider === 'openai' ? 'expired' : 'ended');
    const results = await collect(adapter(), engine(), snap);
    expect(results.get('item-0')!.ok).toBe(true);
    expect(results.get('item-1')).toMatchObject({ ok: false, outcome: 'error' });
    // Malformed content is an answer: the parser (not the adapter) refuses it.
    expect(results.get('item-2')!.ok).toBe(true);
    expect(results.get('item-3')).toMatchObject({ ok: false, outcome: 'expired' });
  });

  it('cancels a running batch: it ends with nothing answered', async () => {
    store().setOptions({ processingMs: 10_000 });
    const snap = await adapter().submit(engine(), crypto.randomUUID(), linesFor(adapter(), engine()));
    const cancelling = await adapter().cancel(engine(), snap.providerBatchId);
    expect(['cancelling', 'canceling']).toContain(cancelling.status);
    const ended = await untilEnded(adapter(), engine(), snap.providerBatchId);
    expect(ended.counts.succeeded).toBe(0);
    const results = await collect(adapter(), engine(), ended);
    expect([...results.values()].every((r) => !r.ok && r.outcome === 'cancelled')).toBe(true);
  });
});
