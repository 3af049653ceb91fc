/**
 * Something a worker loads once per job (a model, a vocabulary, stop words) and then uses on
 * every record: the value itself once loaded, so `map` stays synchronous on the hot path, and
 * a promise the first time. A new key (another model, another run's params) loads again; a
 * failed load is forgotten, so the task's retry loads again.
 */
export class Loaded<T> {
  private key: string | undefined;
  private value: T | undefined;
  private loading: Promise<T> | undefined;

  get(key: string, load: () => T | Promise<T>): T | Promise<T> {
    if (this.key === key) return this.loading === undefined ? (this.value as T) : this.loading;
    this.key = key;
    this.value = undefined;
    const v = load();
    if (!(v instanceof Promise)) {
      this.loading = undefined;
      this.value = v;
      return v;
    }
    const loading = v.then(
      (value) => {
        if (this.loading === loading) {
          this.value = value;
          this.loading = undefined;
        }
        return value;
      },
      (e: unknown) => {
        if (this.loading === loading) {
          this.key = undefined;
          this.loading = undefined;
        }
        throw e;
      },
    );
    this.loading = loading;
    return loading;
  }
}

/** Calls `fn` with `value`, now if it is loaded, else once it is (map functions stay synchronous when they can). */
export function withLoaded<T, R>(value: T | Promise<T>, fn: (v: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}
