// Driver for Node, Deno and Bun: imports the package by name, as a user would, so the runtime's own
// export condition (node, deno, bun) picks the entry; prints one JSON line for test/runtimes.test.ts.
import * as nettrim from 'nettrim';
import { runPlantedCase } from './planted-case.ts';

const report = await runPlantedCase(nettrim);
console.log(JSON.stringify({ exports: Object.keys(nettrim).sort(), report }));
