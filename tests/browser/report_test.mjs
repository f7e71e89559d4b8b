// swarmwall's HTML reports (audit --html, exposure --html) opened in
// Debian's Chromium, headless, through playwright-core: no console error and
// no uncaught exception, no request leaves the page (it is self-contained:
// every request must be the page itself), the matrix table and the chain
// graph's SVG are in the rendered DOM, a screenshot is kept, and a page
// must finish loading within LIMIT_MS (the 5,000-rule report: 2 s).
// Usage: node report_test.mjs CHROMIUM OUT_DIR PAGE.html[:LIMIT_MS][:needs] ...
//   needs: "matrix", "graph" or "matrix+graph" (what the DOM must hold)
import { chromium } from 'playwright-core';
import path from 'node:path';

const [executablePath, outDir, ...pages] = process.argv.slice(2);
let failures = 0;
const fail = (page, what) => { console.log(`report_test: FAILED ${page}: ${what}`); failures++; };

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
for (const spec of pages) {
  const [file, limit = '0', needs = ''] = spec.split(':');
  const url = 'file://' + path.resolve(file);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [], outside = [];
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => errors.push(`exception: ${e.message}`));
  page.on('request', r => { if (r.url() !== url) outside.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  // The browser's own account of the load: from navigation start to the end
  // of the load event (parsing, style, layout of the whole page).
  const loadMs = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  const dom = await page.evaluate(() => ({
    matrixRows: document.querySelectorAll('table.matrix tr').length,
    svgs: document.querySelectorAll('.graph svg').length,
    svgNodes: document.querySelectorAll('.graph svg g.node').length,
    findings: document.querySelectorAll('.finding').length,
  }));
  const shot = path.join(outDir, path.basename(file, '.html') + '.png');
  await page.screenshot({ path: shot, fullPage: false });
  console.log(`report_test: ${path.basename(file)}: loaded in ${loadMs.toFixed(0)} ms; matrix rows ${dom.matrixRows}, ` +
              `chain graph ${dom.svgs ? dom.svgNodes + ' chains' : 'absent'}, findings ${dom.findings}; screenshot ${shot}`);
  if (errors.length) fail(file, `console: ${errors.join(' | ')}`);
  if (outside.length) fail(file, `requests leaving the page: ${outside.join(', ')}`);
  if (needs.includes('matrix') && dom.matrixRows < 2) fail(file, 'no matrix table in the DOM');
  if (needs.includes('graph') && (dom.svgs !== 1 || dom.svgNodes < 1)) fail(file, 'no chain graph SVG in the DOM');
  if (Number(limit) > 0 && loadMs > Number(limit)) fail(file, `loaded in ${loadMs.toFixed(0)} ms, over ${limit} ms`);
  await page.close();
}
await browser.close();
process.exit(failures ? 1 : 0);
