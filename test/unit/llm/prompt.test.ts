import { buildMessages, jsonSchemaFor } from '../../../src/llm/prompt';
import type { ProjectContext } from '../../../src/llm/types';

const project: ProjectContext = {
  tenantId: 't1',
  projectId: 'p1',
  labelSchema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] },
  guidelines: 'Sarcasm counts as negative.',
  examples: [
    { text: 'Loved it', value: { label: 'positive' } },
    { text: 'Off-schema example', value: { label: 'spam' } },
    { text: 'Broke in a day', value: { label: 'negative' } },
  ],
};

describe('buildMessages', () => {
  it('puts task, labels, schema type, guidelines and instructions in the system message', () => {
    const messages = buildMessages({ project, item: { text: 'It works.' }, instructions: 'Be strict.' });
    const system = messages[0];
    expect(system.role).toBe('system');
    expect(system.content).toContain('Schema type: single_label');
    expect(system.content).toContain('Labels: ["positive","negative","neutral"]');
    expect(system.content).toContain('Sarcasm counts as negative.');
    expect(system.content).toContain('Be strict.');
    expect(system.content).toContain('{"label"');
  });

  it('renders schema-valid examples as user/assistant pairs and ends with the item text verbatim', () => {
    const messages = buildMessages({ project, item: { text: 'It works.' } });
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'Loved it' },
      { role: 'assistant', content: '{"label":"positive","confidence":1}' },
      { role: 'user', content: 'Broke in a day' },
      { role: 'assistant', content: '{"label":"negative","confidence":1}' },
      { role: 'user', content: 'It works.' },
    ]);
  });

  it('asks for a labels array for multi_label projects', () => {
    const multi: ProjectContext = {
      ...project,
      labelSchema: { type: 'multi_label', labels: ['billing', 'bug', 'ux'] },
      guidelines: null,
      examples: [{ text: 'Charged twice and the page crashed', value: { labels: ['billing', 'bug'] } }],
    };
    const messages = buildMessages({ project: multi, item: { text: 'x' } });
    expect(messages[0].content).toContain('{"labels"');
    expect(messages[0].content).not.toContain('Guidelines');
    expect(messages[2]).toEqual({ role: 'assistant', content: '{"labels":["billing","bug"],"confidence":1}' });
  });
});

describe('jsonSchemaFor', () => {
  it('restricts the label to the label set', () => {
    const f = jsonSchemaFor(project.labelSchema);
    expect(f.strict).toBe(true);
    const props = (f.schema as any).properties;
    expect(props.label.enum).toEqual(['positive', 'negative', 'neutral']);
    expect((f.schema as any).required).toEqual(['label', 'confidence']);
    expect((f.schema as any).additionalProperties).toBe(false);
  });

  it('uses an array of enum labels for multi_label', () => {
    const f = jsonSchemaFor({ type: 'multi_label', labels: ['a', 'b'] });
    const props = (f.schema as any).properties;
    expect(props.labels).toEqual({ type: 'array', items: { type: 'string', enum: ['a', 'b'] } });
  });
});
