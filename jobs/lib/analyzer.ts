/**
 * The word analyzer of the text jobs, scikit-learn `CountVectorizer`'s `analyzer='word'`: the
 * SDK's tokens (lower-cased runs of 2+ letters, digits or `_`), stop words removed, then word
 * n-grams of the remaining tokens joined by one space (scikit-learn's `_word_ngrams`).
 */
import { forEachToken, InvalidJobError, type TaskContext } from 'streaming';
import { Loaded } from './loaded.js';
import { ENGLISH_STOP_WORDS } from './stop-words.js';

/** An analyzer as a model records it: the transform applies what the fit used. */
export interface AnalyzerSpec {
  /** Smallest and largest n of the word n-grams (scikit-learn's `ngram_range`). */
  ngramRange: [number, number];
  /** scikit-learn's English list, the words of a file, or none. */
  stopWords: 'english' | string[] | null;
}

export interface Analyzer {
  spec: AnalyzerSpec;
  /** Calls `fn` with every term of `text`. */
  terms(text: string, fn: (term: string) => void): void;
}

const fromParams = new Loaded<Analyzer>();

/**
 * The analyzer the params describe, once per worker: `ngramRange=<min>,<max>` (default 1,1)
 * and `stopWords=english|<location of a file, one word per line>` (default none).
 */
export function analyzerFromParams(ctx: TaskContext): Analyzer | Promise<Analyzer> {
  const raw = ctx.params.ngramRange ?? '1,1';
  const stop = ctx.params.stopWords?.trim() || null;
  return fromParams.get(`${ctx.task.attempt}\n${raw}\n${stop}`, () => {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(raw);
    const ngramRange: [number, number] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!(ngramRange[0] >= 1 && ngramRange[1] >= ngramRange[0]))
      throw new InvalidJobError(
        `--param ngramRange must be <min>,<max> with 1 <= min <= max, e.g. 1,2 for words and pairs of words (got "${raw}").`,
      );
    if (stop === null || stop === 'english') return analyzer({ ngramRange, stopWords: stop as 'english' | null });
    return ctx.sideInput(stop).then((text) =>
      analyzer({
        ngramRange,
        stopWords: [
          ...new Set(
            text
              .split('\n')
              .map((w) => w.trim().toLowerCase())
              .filter((w) => w !== ''),
          ),
        ].sort(),
      }),
    );
  });
}

/**
 * The analyzer of a spec: every term of a text in scikit-learn's order, the tokens that are
 * not stop words (when n-grams start at 1), then the 2-grams, and so on.
 */
export function analyzer(spec: AnalyzerSpec): Analyzer {
  const stop: ReadonlySet<string> =
    spec.stopWords === 'english' ? ENGLISH_STOP_WORDS : new Set(spec.stopWords === null ? [] : spec.stopWords);
  const [min, max] = spec.ngramRange;
  if (max === 1 && stop.size === 0) return { spec, terms: forEachToken };
  const tokens: string[] = [];
  return {
    spec,
    terms(text, fn) {
      tokens.length = 0;
      forEachToken(text, (t) => {
        if (!stop.has(t)) tokens.push(t);
      });
      for (let n = min; n <= max; n++)
        for (let i = 0; i + n <= tokens.length; i++) fn(n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(' '));
    },
  };
}
