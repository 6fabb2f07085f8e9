import { CircuitBreaker } from '../../../src/llm/circuit-breaker';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures and refuses until the cool-down', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: c.now });
    for (let i = 0; i < 2; i++) {
      expect(b.tryAcquire('e')).toBe(true);
      b.onFailure('e');
    }
    expect(b.state('e')).toBe('closed');
    expect(b.tryAcquire('e')).toBe(true);
    b.onFailure('e');
    expect(b.state('e')).toBe('open');
    expect(b.wouldRefuse('e')).toBe(true);
    expect(b.tryAcquire('e')).toBe(false);
    expect(b.retryInMs('e')).toBe(1000);
    c.advance(999);
    expect(b.tryAcquire('e')).toBe(false);
    expect(b.retryInMs('e')).toBe(1);
  });

  it('counts only consecutive failures', () => {
    const b = new CircuitBreaker({ failureThreshold: 2 });
    b.onFailure('e');
    b.onSuccess('e');
    b.onFailure('e');
    expect(b.state('e')).toBe('closed');
    b.onFailure('e');
    expect(b.state('e')).toBe('open');
  });

  it('admits exactly one half-open probe; success closes the circuit', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, now: c.now });
    b.onFailure('e');
    c.advance(500);
    expect(b.state('e')).toBe('half_open');
    expect(b.wouldRefuse('e')).toBe(false);
    expect(b.tryAcquire('e')).toBe(true);
    expect(b.wouldRefuse('e')).toBe(true);
    expect(b.tryAcquire('e')).toBe(false);
    b.onSuccess('e');
    expect(b.state('e')).toBe('closed');
    expect(b.tryAcquire('e')).toBe(true);
    expect(b.tryAcquire('e')).toBe(true);
  });

  it('re-opens for another cool-down when the probe fails', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 5, cooldownMs: 500, now: c.now });
    for (let i = 0; i < 5; i++) b.onFailure('e');
    c.advance(600);
    expect(b.tryAcquire('e')).toBe(true);
    b.onFailure('e');
    expect(b.state('e')).toBe('open');
    expect(b.tryAcquire('e')).toBe(false);
    c.advance(500);
    expect(b.tryAcquire('e')).toBe(true);
  });

  it('frees the probe when a call ends without a verdict', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 0, now: c.now });
    b.onFailure('e');
    expect(b.tryAcquire('e')).toBe(true);
    expect(b.tryAcquire('e')).toBe(false);
    b.release('e');
    expect(b.tryAcquire('e')).toBe(true);
  });

  it('keeps engines independent', () => {
    const b = new CircuitBreaker({ failureThreshold: 1 });
    b.onFailure('a');
    expect(b.tryAcquire('a')).toBe(false);
    expect(b.tryAcquire('b')).toBe(true);
  });
});

describe('CircuitBreaker retries', () => {
  it('does not count a retry’s failure towards opening, but a failed half-open probe reopens', () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100, now: () => t });
    b.onFailure('e');
    for (let i = 0; i < 5; i++) b.onRetryFailure('e'); // one poison item failing on every retry
    expect(b.state('e')).toBe('closed');
    b.onFailure('e');
    expect(b.state('e')).toBe('open');
    t += 100;
    expect(b.tryAcquire('e')).toBe(true); // the probe
    b.onRetryFailure('e');
    expect(b.state('e')).toBe('open');
  });
});
