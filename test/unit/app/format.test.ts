import { countdown, duration, sameValue, valueText, DUE_SOON_MS } from '../../../app/lib/format';

/** The web app's display rules: deadlines, durations and label values as the views show them. */
describe('countdown', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('reads a future deadline as due, within an hour as due soon, a past one as overdue', () => {
    expect(countdown('2026-01-01T15:30:00Z', now)).toEqual({ text: 'due in 3 h 30 min', overdue: false, soon: false });
    expect(countdown('2026-01-01T12:29:05Z', now)).toEqual({ text: 'due in 29 min 5 s', overdue: false, soon: true });
    expect(countdown('2026-01-01T11:58:00Z', now)).toEqual({ text: 'overdue by 2 min 0 s', overdue: true, soon: false });
    expect(countdown(null, now)).toEqual({ text: 'no deadline', overdue: false, soon: false });
  });
  it('due soon ends exactly at the hour', () => {
    expect(countdown(new Date(now + DUE_SOON_MS).toISOString(), now).soon).toBe(false);
    expect(countdown(new Date(now + DUE_SOON_MS - 1000).toISOString(), now).soon).toBe(true);
  });
});

test('duration picks the two largest units', () => {
  expect(duration(0)).toBe('0 s');
  expect(duration(59_999)).toBe('59 s');
  expect(duration(3 * 86400_000 + 5 * 3600_000)).toBe('3 d 5 h');
});

test('label values compare as sets for multi-label and show as text', () => {
  expect(sameValue({ labels: ['a', 'b'] }, { labels: ['b', 'a'] })).toBe(true);
  expect(sameValue({ labels: ['a'] }, { labels: ['a', 'b'] })).toBe(false);
  expect(sameValue({ label: 'a' }, { labels: ['a'] })).toBe(false);
  expect(sameValue({ label: 'a' }, null)).toBe(false);
  expect(valueText({ label: 'positive' })).toBe('positive');
  expect(valueText({ labels: ['x', 'y'] })).toBe('x, y');
  expect(valueText({ labels: [] })).toBe('(none)');
  expect(valueText(null)).toBe('(no label)');
});
