/**
 * `streaming report` on a real run, opened in a real headless browser (a system Chromium, else
 * the one npm delivers: test/browser.ts; driven by playwright-core): every task is drawn,
 * failed attempts too, and the page has no script or console errors.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { renderReport } from '../sdk/report.js';
import { launchChromium } from './browser.js';
import { FIXTURES, MOBY, ROOT, tempDir } from './helpers.js';

const fixture = (name: string) => path.join(FIXTURES, name);

describe('streaming report', () => {
  it('draws every task of a real run in a timeline, with phase totals, and the page loads without errors', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const { manifest } = await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: path.join(MOBY, 'data.txt'),
      output: out,
      splitSize: 200_000,
      reducers: 3,
      workers: 2,
    });
    expect(manifest.tasks.length).toBe(manifest.map.tasks + 3);
    expect(manifest.failedAttempts).toEqual([]);
    const file = path.join(dir, 'report.html');
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'sdk', 'cli.js'), 'report', out, '--out', file], {
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout.trim()).toBe(file);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.goto(`file://${file}`);
      const drawn = await page.$$eval('svg#timeline rect.task', (rects) =>
        rects.map(
          (r) =>
            `${r.getAttribute('data-phase')} ${r.getAttribute('data-task')} ${r.getBoundingClientRect().width > 0}`,
        ),
      );
      expect(drawn.sort()).toEqual(manifest.tasks.map((t) => `${t.phase} ${t.task} true`).sort());
      const phases = await page.$$eval('table:first-of-type tr td:first-child', (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(phases).toEqual(['map', 'reduce']);
      expect(await page.title()).toContain(manifest.jobId);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("draws the attempts that failed and were retried, on their task's row, with the error", async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const markers = path.join(dir, 'markers');
    fs.mkdirSync(markers);
    const { manifest } = await runLocal(fixture('flaky.ts'), {
      input: path.join(MOBY, 'data.txt'),
      output: out,
      splitSize: 200_000,
      reducers: 3,
      workers: 2,
      retryDelayMs: 10,
      params: { markers, phases: 'map,reduce' },
    });
    // Every task failed once (the fixture fails each first attempt), before its published attempt.
    const key = (t: { phase: string; task: number }) => `${t.phase} ${t.task}`;
    expect(manifest.failedAttempts.map(key).sort()).toEqual(manifest.tasks.map(key).sort());
    for (const f of manifest.failedAttempts) {
      const published = manifest.tasks.find((t) => key(t) === key(f))!;
      expect(f.error).toEqual({
        name: 'UserCodeError',
        message: expect.stringContaining(`injected failure of the first attempt of ${f.phase}-${f.task}`),
        // The user's own frame is kept, beneath the cause the wrapper names.
        stack: expect.arrayContaining([
          `Caused by: Error: injected failure of the first attempt of ${f.phase}-${f.task}`,
          expect.stringMatching(/at failFirstAttempt .*flaky\.ts/),
        ]),
      });
      expect(f.attempt).not.toBe(published.attempt);
      expect(f.end).toBeLessThanOrEqual(published.start);
    }
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderReport(manifest));

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`file://${file}`);
      const failed = await page.$$eval('svg#timeline rect.task.failed', (rects) =>
        rects.map((r) => ({
          task: `${r.getAttribute('data-phase')} ${r.getAttribute('data-task')}`,
          visible: r.getBoundingClientRect().width > 0,
          title: r.querySelector('title')?.textContent ?? '',
        })),
      );
      expect(failed.map((f) => f.task).sort()).toEqual(manifest.failedAttempts.map(key).sort());
      for (const f of failed) {
        expect(f.visible).toBe(true);
        expect(f.title).toContain('injected failure of the first attempt');
      }
      const published = await page.$$eval('svg#timeline rect.task:not(.failed)', (rects) => rects.length);
      expect(published).toBe(manifest.tasks.length);
      const retried = await page.$$eval('table:first-of-type tr td:nth-child(6)', (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(retried).toEqual([String(manifest.map.tasks), '3']);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('refuses an output without a manifest', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'sdk', 'cli.js'), 'report', tempDir()], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds no _manifest\.json/);
  });
});
