import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/*
 * Node's built-in modules that only some tasks use, loaded on first use: gzip input and output
 * (zlib) and stream programs (child_process, readline). Imported up front they cost every
 * worker thread ~8 ms of its start-up, on the way to the run's first task.
 */

export const zlib = (): typeof import('node:zlib') => require('node:zlib');
export const childProcess = (): typeof import('node:child_process') => require('node:child_process');
export const readline = (): typeof import('node:readline') => require('node:readline');
