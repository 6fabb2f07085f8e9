import { EngineParams } from '../../../src/api/engines/schema';

describe('EngineParams max_retries', () => {
  it('accepts an integer from 0 to 20', () => {
    for (const v of [0, 3, 20]) expect(EngineParams.safeParse({ max_retries: v }).success).toBe(true);
  });

  it('rejects anything else on the max_retries path', () => {
    for (const v of [-1, 21, 1.5, '3']) {
      const r = EngineParams.safeParse({ max_retries: v });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0].path).toEqual(['max_retries']);
    }
  });
});
