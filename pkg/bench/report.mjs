// Writes a bench table beside its peer as Markdown into docs/bench/ (or
// $BENCH_OUT), where `make bench-report` merges it into docs/benchmarks.md.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const pkgRoot = fileURLToPath(new URL('..', import.meta.url));

/** The bench output directory: $BENCH_OUT, else the repository's docs/bench. */
export function outDir() {
  return process.env.BENCH_OUT ?? fileURLToPath(new URL('../../docs/bench/', import.meta.url));
}

/** Gzipped bytes (level 9) a browser downloads for the raw keyrings. */
export function downloadSize() {
  const gz = (files) => gzipSync(Buffer.concat(files.map((f) => readFileSync(pkgRoot + f))), { level: 9 }).length;
  const wasm = gz(['dist/kms_envelope_wasm_bg.wasm']);
  // Every module browser.js loads, unbundled.
  const js = gz(['dist/kms_envelope_wasm.js', 'src/api.js', 'src/external.js', 'src/host-stream.js', 'src/web.js', 'src/ready.js', 'src/browser.js']);
  return { wasm, js, total: wasm + js };
}

/** The package's own version and the installed peer's (package.json path under pkg/). */
export function versions(peerPackageJson) {
  const ours = JSON.parse(readFileSync(pkgRoot + 'package.json', 'utf8')).version;
  const peer = JSON.parse(readFileSync(pkgRoot + peerPackageJson, 'utf8')).version;
  return { ours, peer };
}

/**
 * rows: [{ suite, impl, <column>: value }...] with `ours` and `peer` rows per
 * suite; targets(column, suite) -> minimum ratio or undefined.
 */
export function writeReport(file, { title, preface, rows, ours, peer, targets, unit, notes }) {
  const columns = Object.keys(rows[0]).filter((k) => k !== 'suite' && k !== 'impl');
  const lines = [`# ${title}`, '', preface, '',
    `| workload | suite | kms-envelope | ${peer} | × ${peer} | target | met |`, '|---|---|---|---|---|---|---|'];
  let met = 0;
  let total = 0;
  for (const suite of [...new Set(rows.map((r) => r.suite))]) {
    const a = rows.find((r) => r.suite === suite && r.impl === ours);
    const b = rows.find((r) => r.suite === suite && r.impl === peer);
    for (const c of columns) {
      const ratio = a[c] / b[c];
      const want = targets(c, suite);
      let verdict = '–';
      if (want !== undefined) {
        total++;
        if (ratio >= want) { met++; verdict = 'yes'; } else verdict = '**no**';
      }
      lines.push(`| ${c} | ${suite} | ${a[c]} ${unit(c)} | ${b[c]} ${unit(c)} | ${ratio.toFixed(2)}× | ${want === undefined ? '–' : `≥ ${want}×`} | ${verdict} |`);
    }
  }
  lines.push('', `${met} of ${total} targets met.`, '');
  if (notes) lines.push(notes, '');
  mkdirSync(outDir(), { recursive: true });
  writeFileSync(outDir() + '/' + file, lines.join('\n'));
  console.log(`bench-js: wrote ${outDir()}/${file} (${met} of ${total} targets met)`);
}

/** When and where: for the preface. */
export function machine() {
  return `${new Date().toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' ')}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average ${os.loadavg()[0].toFixed(2)} before`;
}
