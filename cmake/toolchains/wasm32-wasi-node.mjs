// wasm32-wasi-node.mjs -- runs a wasm32-wasi program under Node's WASI (preview1), the way
// qemu-user runs a foreign Linux program: CTest prepends it to every test command.
//
//   node --no-warnings wasm32-wasi-node.mjs program.wasm [arguments...]
//
// The program sees its own name and the arguments as argv, an empty environment and no
// preopened directories.  Node's exit status is the program's: the value main returned or
// passed to exit().  A trap (the port's custom_abort, __builtin_trap, abort(), an out-of-bounds
// access) is reported on standard error with its message and ends with status 134, the
// status of a process killed by SIGABRT on Linux, so death tests can tell it from a failure
// the program reported itself.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const TRAP_EXIT_STATUS = 134;

const [file, ...args] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: wasm32-wasi-node.mjs program.wasm [arguments...]\n');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
try {
  process.exitCode = wasi.start(instance);
} catch (error) {
  if (!(error instanceof WebAssembly.RuntimeError))
    throw error;
  process.stderr.write(`wasm trap: ${error.message}\n`);
  process.exitCode = TRAP_EXIT_STATUS;
}
