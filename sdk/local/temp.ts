/**
 * Each local run's own folder for the tasks' local files (map spills, a reducer's fetched
 * ranges, the shuffle plan's slot file). The tasks delete their files as they finish, but a
 * worker thread that is terminated (a cancelled run, a worker that died, the pool closing on a
 * failure) runs no `finally`: the engine removes the whole folder once the pool is closed,
 * however the run ended. A process killed outright cannot; the next run removes the folders of
 * processes that no longer exist.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PREFIX = 'streaming-run-';

/**
 * Where a run's local files go: under `scratch` when it is a local directory (`--scratch`),
 * else in the OS temporary directory.
 */
export function tempBase(scratch: string | undefined): string {
  if (scratch === undefined || /^s3:\/\//i.test(scratch)) return os.tmpdir();
  return scratch.startsWith('file://') ? fileURLToPath(scratch) : path.resolve(scratch);
}

/**
 * Makes the run's folder, `<base>/streaming-run-<pid>-<random>`, and starts removing those of
 * dead processes: `orphansRemoved` settles once they are gone. Reading a temporary directory of
 * thousands of entries took 20-40 ms, which the run's start no longer waits for.
 */
export async function makeRunTempDir(
  scratch: string | undefined,
): Promise<{ dir: string; orphansRemoved: Promise<void> }> {
  const base = tempBase(scratch);
  await fs.mkdir(base, { recursive: true });
  const dir = await fs.mkdtemp(path.join(base, `${PREFIX}${process.pid}-`));
  // A folder that cannot be removed now is tried again by the next run.
  return { dir, orphansRemoved: removeOrphans(base).catch(() => {}) };
}

export async function removeRunTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Removes the run folders whose process is gone (killed before it could remove its own). */
async function removeOrphans(base: string): Promise<void> {
  const entries = await fs.readdir(base).catch(() => [] as string[]);
  for (const name of entries) {
    const pid = Number(/^streaming-run-(\d+)-/.exec(name)?.[1]);
    if (pid && !alive(pid)) await fs.rm(path.join(base, name), { recursive: true, force: true });
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
