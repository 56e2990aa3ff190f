'use strict';
// A configuration the route cannot run with stops the start: exit status 1 and exactly
// one line on stderr naming what to set or what is wrong (the same texts as route 1).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const SERVER = path.resolve(__dirname, '../src/server.js');
const COMPLETE = { DB_HOST: '127.0.0.1', DB_USER: 'u', DB_PASSWORD: 'p', DB_NAME: 'n', INGEST_TOKEN: 't' };

/** src/server.js with exactly this environment (and PATH): its exit status and output. */
function run(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the route did not exit within 10 s')); }, 10000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const cases = [
  ['nothing set', {}, 'missing environment variables: DB_HOST, DB_USER, DB_PASSWORD, DB_NAME, INGEST_TOKEN'],
  ['some missing', { DB_HOST: 'h', DB_NAME: 'n' }, 'missing environment variables: DB_USER, DB_PASSWORD, INGEST_TOKEN'],
  ['empty counts as missing', { ...COMPLETE, DB_PASSWORD: '', INGEST_TOKEN: '' }, 'missing environment variables: DB_PASSWORD, INGEST_TOKEN'],
  ['PORT not an integer', { ...COMPLETE, PORT: 'x' }, "PORT must be a non-negative integer (got 'x')"],
  ['DB_PORT negative', { ...COMPLETE, DB_PORT: '-1' }, "DB_PORT must be a non-negative integer (got '-1')"],
  ['DB_POOL_SIZE fractional', { ...COMPLETE, DB_POOL_SIZE: '1.5' }, "DB_POOL_SIZE must be a non-negative integer (got '1.5')"],
];

for (const [name, env, line] of cases) {
  test(`start refused, ${name}: exit 1, one stderr line`, async () => {
    const { status, stdout, stderr } = await run(env);
    assert.equal(status, 1);
    assert.equal(stderr, `${line}\n`);
    assert.equal(stdout, '');
  });
}
