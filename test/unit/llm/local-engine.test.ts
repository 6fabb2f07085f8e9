import {
  classifyLocal,
  clearLocalModelCache,
  localModelCacheSize,
  localModelFor,
  LOCAL_MODEL_CACHE_SIZE,
  NaiveBayesModel,
  tokenize,
} from '../../../src/llm/local-engine';
import type { LabelledExample, ProjectContext } from '../../../src/llm/types';

const pos = (text: string): LabelledExample => ({ text, value: { label: 'positive' } });
const neg = (text: string): LabelledExample => ({ text, value: { label: 'negative' } });

const training: LabelledExample[] = [
  pos('I love this phone, the battery lasts all day'),
  pos('Excellent quality and fast delivery, very happy'),
  pos('Great value for the money, works perfectly'),
  pos('The staff were friendly and helpful, wonderful experience'),
  pos('Absolutely fantastic, exceeded my expectations'),
  pos('Beautiful design and the screen is amazing'),
  pos('Best purchase this year, highly recommend it'),
  pos('Comfortable, sturdy and easy to set up'),
  pos('The food was delicious and the service was great'),
  pos('Happy with the product, it arrived early'),
  pos('Works great, my kids love it'),
  pos('Superb sound quality, I am delighted'),
  pos('Fast, reliable and well made'),
  pos('A wonderful hotel with a lovely view'),
  pos('Perfect fit and the material feels premium'),
  pos('Really impressed by the excellent customer support'),
  pos('Five stars, would definitely buy again'),
  pos('Smooth performance and a great camera'),
  neg('Terrible quality, it broke after two days'),
  neg('The battery dies in an hour, very disappointed'),
  neg('Awful customer service, nobody answered my emails'),
  neg('Waste of money, does not work at all'),
  neg('The delivery was late and the box was damaged'),
  neg('Cheap plastic that feels flimsy and broken'),
  neg('Horrible experience, the staff were rude'),
  neg('Stopped working after a week, I want a refund'),
  neg('The food was cold and tasteless'),
  neg('Worst purchase ever, do not buy this'),
  neg('Screen flickers constantly, really annoying'),
  neg('Poor sound quality and the app keeps crashing'),
  neg('Slow, buggy and unreliable'),
  neg('The hotel room was dirty and noisy'),
  neg('Arrived broken and support refused a refund'),
  neg('Disappointed, the material feels cheap'),
  neg('One star, would never buy again'),
  neg('Overpriced and the camera is blurry'),
];

const project: ProjectContext = {
  tenantId: 't1',
  projectId: 'p1',
  labelSchema: { type: 'single_label', labels: ['positive', 'negative'] },
  examples: training,
};

describe('tokenize', () => {
  it('lowercases, splits on unicode word boundaries and drops stopwords', () => {
    expect(tokenize('The Café was GREAT, naïve 2nd-rate!')).toEqual(['café', 'great', 'naïve', '2nd', 'rate']);
    expect(tokenize('Привет, мир')).toEqual(['привет', 'мир']);
    expect(tokenize('')).toEqual([]);
  });

  it('folds English plurals conservatively', () => {
    expect(tokenize('elections ministers stories class bus analysis famous')).toEqual([
      'election', 'minister', 'story', 'class', 'bus', 'analysis', 'famous',
    ]);
  });
});

describe('local naive Bayes engine', () => {
  beforeEach(() => clearLocalModelCache());

  it('learns sentiment from gold examples and classifies held-out sentences', () => {
    const heldOut: [string, string][] = [
      ['Excellent camera and a lovely screen, I love it', 'positive'],
      ['Great service and friendly staff, highly recommend', 'positive'],
      ['The battery is fantastic and the delivery was fast', 'positive'],
      ['Sturdy, well made and comfortable', 'positive'],
      ['Delicious food and a wonderful view', 'positive'],
      ['It broke after a week, terrible', 'negative'],
      ['Rude staff and a dirty room', 'negative'],
      ['The app is buggy and keeps crashing, waste of money', 'negative'],
      ['Cheap flimsy plastic, I want a refund', 'negative'],
      ['Late delivery and the product arrived damaged', 'negative'],
    ];
    for (const [text, expected] of heldOut) {
      const p = classifyLocal(project, text);
      expect({ text, label: p.value }).toEqual({ text, label: { label: expected } });
      expect(p.confidence).toBeGreaterThan(0.5);
      expect(p.confidence).toBeLessThanOrEqual(1);
      expect(p.posteriors.positive + p.posteriors.negative).toBeCloseTo(1, 12);
    }
  });

  it('is more confident with more evidence', () => {
    const weak = classifyLocal(project, 'great');
    const strong = classifyLocal(project, 'great excellent wonderful love fantastic');
    expect(weak.value).toEqual({ label: 'positive' });
    expect(strong.confidence).toBeGreaterThan(weak.confidence);
  });

  it('is deterministic across calls and across fresh models', () => {
    const text = 'The screen is amazing but the battery dies in an hour';
    const a = classifyLocal(project, text);
    clearLocalModelCache();
    const b = classifyLocal(project, text);
    const c = new NaiveBayesModel({ labelSchema: project.labelSchema, examples: training }).predict(text);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('uses label names and guideline lines when there are no examples', () => {
    const p: ProjectContext = {
      tenantId: 't1',
      projectId: 'p2',
      labelSchema: { type: 'single_label', labels: ['sports', 'politics', 'technology'] },
      guidelines: [
        'Label as sports anything about football, tennis, matches, players or scores.',
        'Use politics for elections, parliament, ministers and policy.',
        'technology covers software, smartphones, chips and startups.',
        'When unsure, ask a reviewer.',
      ].join('\n'),
    };
    expect(classifyLocal(p, 'The minister lost the election').value).toEqual({ label: 'politics' });
    expect(classifyLocal(p, 'A new smartphone chip from a startup').value).toEqual({ label: 'technology' });
    expect(classifyLocal(p, 'The tennis players finished the match').value).toEqual({ label: 'sports' });
    expect(classifyLocal(p, 'Sports news').value).toEqual({ label: 'sports' });
  });

  it('splits guideline lines that name several labels into clauses', () => {
    const p: ProjectContext = {
      tenantId: 't1',
      projectId: 'p3',
      labelSchema: { type: 'single_label', labels: ['spam', 'ham'] },
      guidelines: 'spam: lottery prizes, crypto offers; ham: meeting notes, family photos',
    };
    expect(classifyLocal(p, 'You won a lottery prize').value).toEqual({ label: 'spam' });
    expect(classifyLocal(p, 'Notes from the meeting').value).toEqual({ label: 'ham' });
  });

  it('falls back to the first label with a uniform posterior when nothing is known', () => {
    const p: ProjectContext = { tenantId: 't', projectId: 'p', labelSchema: { type: 'single_label', labels: ['a_label', 'b_label', 'c_other'] } };
    const r = classifyLocal(p, 'zzz qqq');
    expect(r.value).toEqual({ label: 'a_label' });
    expect(r.confidence).toBeCloseTo(1 / 3, 12);
  });

  it('predicts several labels for multi_label projects (at least one)', () => {
    const ex = (text: string, labels: string[]): LabelledExample => ({ text, value: { labels } });
    const p: ProjectContext = {
      tenantId: 't',
      projectId: 'p4',
      labelSchema: { type: 'multi_label', labels: ['billing', 'bug', 'shipping'] },
      examples: [
        ex('I was charged twice on my invoice', ['billing']),
        ex('Refund the duplicate payment on my card', ['billing']),
        ex('My invoice shows the wrong amount', ['billing']),
        ex('The app crashes when I open settings', ['bug']),
        ex('Error message and crash on login', ['bug']),
        ex('The page freezes with an error', ['bug']),
        ex('My parcel has not arrived yet', ['shipping']),
        ex('The courier lost my package', ['shipping']),
        ex('Tracking number shows the parcel stuck', ['shipping']),
        ex('Charged twice because the checkout page crashed', ['billing', 'bug']),
        ex('Payment error crash during checkout', ['billing', 'bug']),
      ],
    };
    const both = classifyLocal(p, 'The checkout crashed with an error and I was charged twice on my card');
    expect(both.value).toEqual({ labels: ['billing', 'bug'] });
    const one = classifyLocal(p, 'Where is my parcel? The courier tracking is stuck');
    expect(one.value).toEqual({ labels: ['shipping'] });
    const none = classifyLocal(p, 'hello');
    expect((none.value as { labels: string[] }).labels.length).toBe(1);
  });

  it('ignores examples whose labels are not in the label set, matching case-insensitively', () => {
    const withNoise: ProjectContext = {
      ...project,
      examples: [...training, { text: 'great great great', value: { label: 'spam' } }, { text: 'superb', value: { label: 'POSITIVE' } }],
    };
    expect(classifyLocal(withNoise, 'superb').value).toEqual({ label: 'positive' });
  });

  it('caches trained models by fingerprint in a bounded LRU', () => {
    const a = localModelFor({ labelSchema: project.labelSchema, examples: training });
    expect(localModelFor({ labelSchema: { ...project.labelSchema }, examples: [...training] })).toBe(a);
    const b = localModelFor({ labelSchema: project.labelSchema, examples: training.slice(1) });
    expect(b).not.toBe(a);
    for (let i = 0; i < LOCAL_MODEL_CACHE_SIZE + 10; i++) {
      localModelFor({ labelSchema: project.labelSchema, guidelines: `positive ${i}` });
    }
    expect(localModelCacheSize()).toBe(LOCAL_MODEL_CACHE_SIZE);
    expect(localModelFor({ labelSchema: project.labelSchema, examples: training })).not.toBe(a);
  });
});
