/**
 * The headless Chromium of the browser tests, found without root or apt: `CHROMIUM_PATH` when
 * set, else a system Chromium (Debian's, which .ci/run installs where it has apt), else the one
 * npm delivers in the devDependency @sparticuz/chromium (a headless shell inside the package,
 * Linux x64, needing only libc), unpacked once into node_modules/.cache. Never a skip: with none
 * of these the tests fail and say what to install.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './helpers.js';

const SYSTEM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * Flags for a machine without a network but loopback: without the background-networking ones
 * Chromium tries Google's hosts at start and logs refused connections.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface FoundChromium {
  executablePath: string;
  /** Where it came from, for messages. */
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

let found: Promise<FoundChromium> | undefined;

export function findChromium(): Promise<FoundChromium> {
  found ??= locate();
  return found;
}

async function locate(): Promise<FoundChromium> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!fs.existsSync(configured)) throw new Error(`CHROMIUM_PATH is ${configured}, which does not exist.`);
    return { executablePath: configured, source: 'CHROMIUM_PATH' };
  }
  const system = SYSTEM.find((p) => fs.existsSync(p));
  if (system) return { executablePath: system, source: 'system' };
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `No Chromium for the browser tests: none at ${SYSTEM.join(', ')}, and @sparticuz/chromium ships one for Linux x64 only ` +
        `(this is ${process.platform} ${process.arch}). Install Chromium, or set CHROMIUM_PATH to a Chromium or Chrome binary.`,
    );
  return { executablePath: unpackSparticuz(), source: '@sparticuz/chromium' };
}

/**
 * @sparticuz/chromium unpacks its brotli archives into os.tmpdir() (the binary, its fonts and
 * SwiftShader libraries side by side). It is pointed at a folder of its own under
 * node_modules/.cache, per version, so the system temp dir stays clean and later runs reuse it.
 */
function unpackSparticuz(): string {
  const { version } = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8'),
  ) as { version: string };
  const dir = path.join(ROOT, 'node_modules', '.cache', `sparticuz-chromium-${version}`);
  const binary = path.join(dir, 'chromium');
  if (fs.existsSync(binary)) return binary;
  // Unpacked next to the final place and renamed into it, so a run cut short leaves no half
  // binary; in a child process, whose os.tmpdir() is that place (jest's process.env is a copy).
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.unpacking-`);
  const unpack = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "await (await import('@sparticuz/chromium')).default.executablePath();"],
    { cwd: ROOT, env: { ...process.env, TMPDIR: staging }, encoding: 'utf8' },
  );
  if (unpack.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`Unpacking @sparticuz/chromium failed: ${unpack.stderr}`);
  }
  try {
    fs.renameSync(staging, dir);
  } catch (e) {
    // Another test file unpacked it first: theirs stays.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(binary)) throw e;
  }
  return binary;
}

/** A headless browser from findChromium(), with a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  const { executablePath } = await findChromium();
  return chromium.launch({ executablePath, args: FLAGS });
}
