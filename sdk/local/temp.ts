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

/** Makes the run's folder, `<base>/streaming-run-<pid>-<random>`, after removing those of dead processes. */
export async function makeRunTempDir(scratch: string | undefined): Promise<string> {
  const base = tempBase(scratch);
  await fs.mkdir(base, { recursive: true });
  await removeOrphans(base);
  return fs.mkdtemp(path.join(base, `${PREFIX}${process.pid}-`));
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
