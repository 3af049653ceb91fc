/**
 * aws-local-stepfunctions 3.x calls Promise.withResolvers (Node 22+). Node 20 lacks it; this
 * is the standard shape, installed only where missing. Import before loading the interpreter.
 */
const P = Promise as unknown as { withResolvers?: unknown };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>() => {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
