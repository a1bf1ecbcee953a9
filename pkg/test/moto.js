// A moto_server (a local AWS KMS API server) on 127.0.0.1 for the KMS tests,
// with its request recorder on, so tests count the calls that reach it.
//
// moto_server comes from KMS_ENVELOPE_MOTO, else the venv `make setup-moto`
// makes. Without it the tests fail with a hint; they never skip.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGION = 'us-east-1';
/** moto's account. */
export const ACCOUNT = '123456789012';

const HINT = 'run `make setup-moto` (a venv with moto[server]) or point KMS_ENVELOPE_MOTO at a moto_server binary';

function motoBinary() {
  const env = process.env.KMS_ENVELOPE_MOTO;
  const path = env || join(homedir(), '.cache/kms-envelope/venv-moto/bin/moto_server');
  if (!existsSync(path)) {
    throw new Error(`moto_server not found at ${path}${env ? ' (KMS_ENVELOPE_MOTO)' : ''}: ${HINT}`);
  }
  return path;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts moto_server; resolves once it answers. `stop()` ends it. A shell
 * watchdog also ends it when this process dies, however it dies: it waits
 * for our end of its stdin pipe to close.
 */
export async function startMoto() {
  const bin = motoBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kms-envelope-moto-'));
  const log = join(dir, 'moto.log');
  const child = spawn('sh', ['-c', '"$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid', bin, String(port), log], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, MOTO_ENABLE_RECORDING: 'True', MOTO_RECORDER_FILEPATH: join(dir, 'recording.jsonl') },
  });
  child.stdin.on('error', () => {}); // moto gone already: nothing to tell it
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = code ?? signal; resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  const moto = {
    url,
    async stop() {
      child.stdin.end();
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
    /** Clears the recording and records from now on. */
    async startRecording() {
      await post('/moto-api/recorder/reset-recording');
      await post('/moto-api/recorder/start-recording');
    },
    /** How many recorded requests called `operation` (e.g. `GenerateDataKey`). */
    async count(operation) {
      const res = await fetch(`${url}/moto-api/recorder/download-recording`);
      const text = await res.text();
      return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((r) => {
        const target = Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === 'x-amz-target');
        return target && target[1] === `TrentService.${operation}`;
      }).length;
    },
  };
  async function post(path) {
    const res = await fetch(`${url}${path}`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto ${path}: HTTP ${res.status}`);
    await res.arrayBuffer();
  }
  const deadline = Date.now() + 60000;
  for (;;) {
    if (exited !== null) {
      const out = existsSync(log) ? readFileSync(log, 'utf8') : '';
      await moto.stop();
      throw new Error(`moto_server exited (${exited}) before answering: ${HINT}\n${out}`);
    }
    try {
      await post('/moto-api/reset');
      return moto;
    } catch {
      if (Date.now() > deadline) {
        await moto.stop();
        throw new Error(`moto_server did not answer on port ${port} within 60 s`);
      }
      await sleep(100);
    }
  }
}
