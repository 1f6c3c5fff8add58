// time.mjs -- run wasm32-wasi programs under Node's WASI in interleaved rounds and report, per
// program, the median wall time of a run and the size of its linear memory at the end (the
// memory never shrinks, so that is its peak).  Used by bench/wasm/compare.sh.
//
//   node --no-warnings --single-threaded-gc time.mjs <rounds> <name>=<file.wasm> ... -- <args>
//
// Every round runs every program once, in the order given, each in a fresh instance, so that
// a slow phase of the machine hits all of them alike.  A program that exits non-zero stops the
// measurement.  Output: one line per program, "<name> median_ms=<t> runs_ms=<t,t,...>
// memory_bytes=<n> stdout=<its last line>".
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
const rounds = Number(argv.shift());
const split = argv.indexOf('--');
const specs = split < 0 ? argv : argv.slice(0, split);
const args = split < 0 ? [] : argv.slice(split + 1);
const dir = await mkdtemp(join(tmpdir(), 'wasm-time-'));

const programs = [];
for (const spec of specs) {
  const [name, file] = spec.split('=');
  programs.push({ name, module: await WebAssembly.compile(await readFile(file)), runs: [] });
}

for (let round = 0; round < rounds; ++round) {
  for (const p of programs) {
    const out = join(dir, 'stdout');
    const fd = openSync(out, 'w');
    const wasi = new WASI({ version: 'preview1', args: [p.name, ...args], env: {}, stdout: fd,
                            returnOnExit: true });
    const instance = await WebAssembly.instantiate(p.module, wasi.getImportObject());
    const t0 = process.hrtime.bigint();
    const status = wasi.start(instance);
    const t1 = process.hrtime.bigint();
    closeSync(fd);
    if (status !== 0)
      throw new Error(`${p.name} exited with status ${status}`);
    p.runs.push(Number(t1 - t0) / 1e6);
    p.memory = instance.exports.memory.buffer.byteLength;
    p.stdout = readFileSync(out, 'utf8').trim().split('\n').pop();
  }
}
await rm(dir, { recursive: true });

for (const p of programs) {
  const sorted = [...p.runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const runs = p.runs.map((t) => t.toFixed(0)).join(',');
  console.log(`${p.name} median_ms=${median.toFixed(1)} runs_ms=${runs} ` +
              `memory_bytes=${p.memory} stdout=${p.stdout}`);
}
