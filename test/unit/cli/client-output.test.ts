import { csvLine } from '../../../src/api/export/presenter';
import { RecordCounter } from '../../../src/client/commands/export';
import { fitLine, formatDuration, ProgressReporter, renderProgressLine } from '../../../src/client/progress';
import { jobSnapshot, RateWindow, type JobView } from '../../../src/client/watch';
import { itemFromLabelStudioTask } from '../../../src/client/label-studio';

test('a progress line carries the bar, counts, rate, ETA, cost against the budget and status', () => {
  expect(renderProgressLine({ label: 'pre_annotation', done: 250, total: 1000, rate: 31.5, etaSeconds: 24, costUsd: '0.0125', budgetUsd: '2.50', status: 'running', counts: { succeeded: 250, failed: 0 } }, 8)).toBe(
    'pre_annotation [##------] 25% 250/1000 items · 31.5 items/s · ETA 0:24 · $0.0125 / $2.50 · running · succeeded 250',
  );
  expect(renderProgressLine({ label: 'import', done: 41000, total: null, fraction: 0.415, rate: 11834.2, status: 'importing' }, 4)).toBe('import [##--] 41% 41000 items · 11834 items/s · importing');
  expect(renderProgressLine({ label: 'export', done: 3, total: null })).toBe('export 3 items');
  // A narrow terminal gets a shorter bar, then loses whole parts from the end, never half a number.
  const wide = { label: 'import', done: 27000, total: null, fraction: 0.9, rate: 31070, etaSeconds: 0, status: 'importing', counts: { inserted: 27000 } };
  expect(fitLine(wide, 200)).toBe(renderProgressLine(wide));
  expect(fitLine(wide, 80)).toBe('import [###########-] 90% 27000 items · 31070 items/s · ETA 0:00 · importing');
  expect(fitLine(wide, 40)).toBe('import [###########-] 90% 27000 items');
  expect(formatDuration(3725)).toBe('1:02:05');
  expect(formatDuration(59.6)).toBe('1:00');
});

test('plain output writes a line per interval and at every status change; a terminal redraws one line; --json writes JSON lines', () => {
  const written: string[] = [];
  let now = 0;
  const plain = new ProgressReporter({ write: (c: string) => written.push(c) }, 'plain', 2000, () => now);
  const s = { label: 'job', done: 1, total: 10, status: 'running' };
  plain.update(s);
  now = 500;
  plain.update({ ...s, done: 2 }); // too soon, same status
  plain.update({ ...s, done: 2, status: 'paused' }); // status change
  now = 3000;
  plain.update({ ...s, done: 3, status: 'paused' });
  expect(written.map((l) => l.replace(/ \[.*?\]/, ''))).toEqual(['job 10% 1/10 items · running\n', 'job 20% 2/10 items · paused\n', 'job 30% 3/10 items · paused\n']);

  const tty: string[] = [];
  const bar = new ProgressReporter({ write: (c: string) => tty.push(c), isTTY: true, columns: 200 }, 'tty');
  bar.update(s);
  bar.finish({ ...s, done: 10, status: 'completed' });
  expect(tty[0].startsWith('\r\x1b[2K')).toBe(true);
  expect(tty.at(-1)).toBe('\n');

  const throttled: string[] = [];
  let t = 1000;
  const fast = new ProgressReporter({ write: (c: string) => throttled.push(c), isTTY: true }, 'tty', 2000, () => t);
  fast.update(s);
  t = 1050;
  fast.update({ ...s, done: 2 }); // within 100 ms: skipped
  fast.update({ ...s, done: 2, status: 'paused' }); // a status change: drawn
  t = 1200;
  fast.update({ ...s, done: 3, status: 'paused' });
  expect(throttled.map((l) => /(\d+)\/10/.exec(l)![1])).toEqual(['1', '2', '3']);

  const json: string[] = [];
  new ProgressReporter({ write: (c: string) => json.push(c) }, 'json').update(s);
  expect(JSON.parse(json[0])).toEqual({ type: 'progress', ...s });
});

test('a job view becomes a snapshot: no ETA while paused, the pause reason shown; the rate is over recent samples', () => {
  const job = {
    type: 'pre_annotation',
    progress: { status: 'paused', pause_reason: 'budget', total: 10, processed: 4, succeeded: 4, failed: 0, auto_accepted: 3, needs_review: 1, eta_seconds: 12, spent_usd: '0.5', max_cost_usd: '0.5' },
  } as unknown as JobView;
  expect(jobSnapshot(job, null)).toMatchObject({ status: 'paused (budget)', etaSeconds: null, costUsd: '0.5', budgetUsd: '0.5', done: 4, total: 10 });
  const rates = new RateWindow(10_000);
  expect(rates.add(0, 0)).toBeNull();
  expect(rates.add(1000, 10)).toBe(10);
  rates.add(20_000, 10); // a long stall
  expect(rates.add(21_000, 20)).toBe(10); // the samples before the stall fell out of the window: the last second counts
});

test('CSV rows are RFC 4180 and the export counter counts rows, not quoted line breaks', () => {
  expect(csvLine(['a', 'b,c', 'say "hi"', 'two\r\nlines', ''])).toBe('a,"b,c","say ""hi""","two\r\nlines",\r\n');
  const csv = new RecordCounter('csv');
  const text = csvLine(['h1', 'h2']) + csvLine(['1', 'x\ny']) + csvLine(['2', '"q"']);
  // Fed in awkward chunks, split inside a quoted cell.
  for (const part of [text.slice(0, 9), text.slice(9, 14), text.slice(14)]) csv.add(Buffer.from(part));
  expect(csv.records()).toBe(2);
  const ls = new RecordCounter('label-studio');
  ls.add(Buffer.from('[\n{"a":"{"}'));
  ls.add(Buffer.from(',\n'));
  ls.add(Buffer.from('{"b":1}\n]\n'));
  expect(ls.records()).toBe(2);
  const jsonl = new RecordCounter('jsonl');
  jsonl.add(Buffer.from('{}\n{}\n'));
  expect(jsonl.records()).toBe(2);
});

test('a Label Studio task becomes an item: data, external id, the ground truth as gold label', () => {
  const choices = (c: string[]) => [{ type: 'choices', value: { choices: c } }];
  expect(itemFromLabelStudioTask({ id: 7, data: { text: 't' }, meta: { external_id: 'e-7' }, annotations: [{ ground_truth: false, result: choices(['a']) }, { ground_truth: true, result: choices(['b']) }] }, 0)).toEqual({ external_id: 'e-7', data: { text: 't' }, gold_label: { label: 'b' } });
  expect(itemFromLabelStudioTask({ id: 8, data: { text: 'u' }, annotations: [{ ground_truth: true, result: choices(['a', 'b']) }] }, 0)).toEqual({ external_id: 'label-studio-8', data: { text: 'u' }, gold_label: { labels: ['a', 'b'] } });
  expect(itemFromLabelStudioTask({ data: { text: 'v' }, annotations: [{ ground_truth: true, was_cancelled: true, result: choices(['a']) }] }, 0)).toEqual({ data: { text: 'v' } });
  expect(() => itemFromLabelStudioTask({ id: 1 } as never, 2)).toThrow('task 3 has no "data" object');
});
