// Driver for workerd: bundled by esbuild with the `workerd` condition (the .wasm import kept as a
// module), served by workerd; test/runtimes.test.ts requests it and reads the JSON.
import * as nettrim from 'nettrim';
import { runPlantedCase } from './planted-case.ts';

export default {
  async fetch(): Promise<Response> {
    try {
      const report = await runPlantedCase(nettrim);
      return Response.json({ exports: Object.keys(nettrim).sort(), report });
    } catch (err) {
      return Response.json({ error: String((err as Error)?.stack ?? err) }, { status: 500 });
    }
  },
};
