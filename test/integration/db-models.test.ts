import crypto from 'node:crypto';
import { Engine, Item, Project, Tenant } from '../../src/db/models';
import { TestDatabase, createTestDatabase } from '../helpers/db';

/** What the models do with the columns pg already converts: jsonb, bigint, numeric. */
let tdb: TestDatabase;
const tenantId = `tm-${crypto.randomBytes(3).toString('hex')}`;
let projectId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await Tenant.query(tdb.db).insert({ id: tenantId });
  const project = await Project.query(tdb.db)
    .insert({ id: crypto.randomUUID(), tenant_id: tenantId, name: 'p', label_schema: { type: 'single_label', labels: ['a', '1'] }, routing: {}, created_by: 'u' })
    .returning('*');
  projectId = project.id;
});
afterAll(async () => {
  await tdb?.drop();
});

describe('objection models over pg', () => {
  it('read a jsonb string as the string it is, not as the JSON it looks like', async () => {
    const id = crypto.randomUUID();
    await tdb.db.raw(`INSERT INTO items (id, tenant_id, project_id, data, gold_label) VALUES (?, ?, ?, '{"text":"x"}', '"42"')`, [id, tenantId, projectId]);
    const item = await Item.query(tdb.db).findById(id);
    expect(item!.gold_label).toBe('42');
    expect(item!.data).toEqual({ text: 'x' });
    expect(typeof item!.seq).toBe('string'); // bigint
  });

  it('write arrays and objects of jsonAttributes as jsonb, and keep numeric prices exact', async () => {
    const fallback = crypto.randomUUID();
    const engine = await Engine.query(tdb.db)
      .insert({
        id: crypto.randomUUID(),
        tenant_id: tenantId,
        name: 'e',
        provider: 'openai',
        model: 'm',
        params: { temperature: 0 },
        price_input_per_1k: '0.0000000001',
        price_output_per_1k: '12.5',
        rate_limit: null,
        fallback_engine_ids: [fallback],
      })
      .returning('*');
    const { rows } = await tdb.db.raw(
      `SELECT jsonb_typeof(fallback_engine_ids) AS fallback, jsonb_typeof(params) AS params, rate_limit FROM engines WHERE id = ?`,
      [engine.id],
    );
    expect(rows[0]).toEqual({ fallback: 'array', params: 'object', rate_limit: null });
    const read = await Engine.query(tdb.db).findById(engine.id);
    expect(read!.fallback_engine_ids).toEqual([fallback]);
    expect(read!.price_input_per_1k).toBe('0.0000000001');
    expect(read!.price_output_per_1k).toBe('12.5000000000');
  });
});
