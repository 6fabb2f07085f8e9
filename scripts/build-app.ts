/**
 * Bundles the web app (app/) into dist/app with esbuild: one script, one stylesheet, index.html.
 * Run by `npm run build:app`, `prestart` (so `npm start` serves it), `npm run build` and the test
 * setup. `--watch` rebuilds on every change for working on the app.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
export const APP_SOURCE_DIR = path.join(ROOT, 'app');
export const APP_OUT_DIR = path.join(ROOT, 'dist', 'app');

const options = (outDir: string): esbuild.BuildOptions => ({
  entryPoints: { main: path.join(APP_SOURCE_DIR, 'main.tsx'), styles: path.join(APP_SOURCE_DIR, 'styles.css') },
  outdir: outDir,
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});

/** Builds the app into `outDir` (default dist/app) and returns the directory. */
export async function buildApp(outDir = APP_OUT_DIR): Promise<string> {
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build(options(outDir));
  fs.copyFileSync(path.join(APP_SOURCE_DIR, 'index.html'), path.join(outDir, 'index.html'));
  return outDir;
}

if (require.main === module) {
  const watch = process.argv.includes('--watch');
  (async () => {
    if (watch) {
      const ctx = await esbuild.context({
        ...options(APP_OUT_DIR),
        plugins: [{ name: 'html', setup: (b) => b.onEnd(() => fs.copyFileSync(path.join(APP_SOURCE_DIR, 'index.html'), path.join(APP_OUT_DIR, 'index.html'))) }],
      });
      await ctx.watch();
      console.log(`watching app/ → ${path.relative(process.cwd(), APP_OUT_DIR)}`);
    } else {
      console.log(`web app built in ${path.relative(process.cwd(), await buildApp())}`);
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
