import { describe, expect, it } from '@jest/globals';
import * as errors from '../functions/errors.js';
import { NON_RETRYABLE_ERRORS, StreamingError } from '../functions/errors.js';
import { UnknownJobError } from '../sdk/cloud/registry.js';

const classes = Object.values(errors).filter(
  (x): x is typeof StreamingError =>
    typeof x === 'function' && (x === StreamingError || x.prototype instanceof StreamingError),
);

describe('retryability', () => {
  it('is decided once per class: the state machine skips retries of exactly the classes that say so', () => {
    expect(classes.length).toBeGreaterThan(10);
    for (const c of classes) expect([c.name, NON_RETRYABLE_ERRORS.includes(c.name)]).toEqual([c.name, !c.retryable]);
    expect(NON_RETRYABLE_ERRORS).toEqual(
      expect.arrayContaining(['InvalidJobError', 'InputNotFoundError', 'OutputExistsError', 'MalformedRecordError']),
    );
  });

  it('an instance answers as its class does, subclasses outside the module included', () => {
    expect(new errors.InvalidJobError('x').retryable).toBe(false);
    expect(new errors.WorkerDiedError('x').retryable).toBe(true);
    expect(new UnknownJobError('x').retryable).toBe(false);
    expect(errors.toErrorCause(new errors.InputNotFoundError('s3://b/k')).retryable).toBe(false);
  });
});
