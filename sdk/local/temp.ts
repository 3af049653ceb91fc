/**
 * Each local run's own folder for the job's bundle and the tasks' local files (map spills, the
 * shuffle plan's slot file, stream programs' folders). The tasks delete their files as they
 * finish, but a worker thread that is terminated (a cancelled run, a worker that died, the pool
 * closing on a failure) runs no `finally`: the engine removes the whole folder once the pool is
 * closed, however the run ended. A process killed outright cannot; the next run removes the
 * folders of processes that no longer exist.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds every run's folder, `<pid>-<random>`. A folder of its own: looking for
 * the folders of dead processes among the OS temp dir's other entries read all of them on
 * every run (20-27 ms of the engine thread where the temp dir had 9,300 entries).
 */
const RUNS = 'streaming-runs';

/**
 * Where a run's local files go: under `scratch` when it is a local directory (`--scratch`),
 * else in the OS temporary directory.
 */
export function tempBase(scratch: string | undefined): string {
  if (scratch === undefined || /^s3:\/\//i.test(scratch)) return os.tmpdir();
  return scratch.startsWith('file://') ? fileURLToPath(scratch) : path.resolve(scratch);
}

/**
 * Makes the run's folder, `<base>/streaming-runs/<pid>-<random>`, and starts removing those of
 * dead processes: `orphansRemoved` settles once they are gone.
 */
export async function makeRunTempDir(
  scratch: string | undefined,
): Promise<{ dir: string; orphansRemoved: Promise<void> }> {
  const runs = path.join(tempBase(scratch), RUNS);
  // Another run that ends meanwhile removes the folder of runs once it is empty: make it again.
  for (let attempt = 1; ; attempt++) {
    await fs.mkdir(runs, { recursive: true });
    try {
      const dir = await fs.mkdtemp(path.join(runs, `${process.pid}-`));
      // A folder that cannot be removed now is tried again by the next run.
      return { dir, orphansRemoved: removeOrphans(runs).catch(() => {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw e;
    }
  }
}

/** Removes the run's folder, and the folder of runs if no other run has one there. */
export async function removeRunTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rmdir(path.dirname(dir)).catch(() => {});
}

/** Removes the run folders whose process is gone (killed before it could remove its own). */
async function removeOrphans(runs: string): Promise<void> {
  const entries = await fs.readdir(runs).catch(() => [] as string[]);
  for (const name of entries) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid && !alive(pid)) await fs.rm(path.join(runs, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
