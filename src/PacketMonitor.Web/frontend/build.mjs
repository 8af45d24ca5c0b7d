// Builds the dashboard's web root: no bundler, just copies.
//
//   node build.mjs [--out DIR]      (npm run build)
//
// 1. Recreates ../wwwroot (or --out DIR) from scratch, so nothing stale survives.
// 2. Copies our own files from src/ (index.html, app.js, style.css, ...).
// 3. Copies the browser distribution files of the npm dependencies into lib/.
//    They come from node_modules (installed by `npm ci` from the committed lock file);
//    no third-party file is committed to the repository.

import { cp, mkdir, rm, stat, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outArg = process.argv.indexOf("--out");
const out = resolve(here, outArg > 0 ? process.argv[outArg + 1] : "../wwwroot");
const modules = join(here, "node_modules");

// Library files the page loads (lib/NAME) and the licence that goes with each.
const libraries = [
  { pkg: "@microsoft/signalr", files: ["dist/browser/signalr.min.js", "dist/browser/signalr.min.js.map"] },
  { pkg: "chart.js", files: ["dist/chart.umd.min.js", "dist/chart.umd.min.js.map", "LICENSE.md"], rename: { "LICENSE.md": "chart.js.LICENSE.md" } },
];

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function main() {
  if (!(await exists(modules))) {
    throw new Error(`${modules} is missing: run "npm ci" in ${here} first`);
  }

  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, "lib"), { recursive: true });

  await cp(join(here, "src"), out, { recursive: true });

  const versions = {};
  for (const library of libraries) {
    const root = join(modules, library.pkg);
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
    versions[library.pkg] = manifest.version;
    for (const file of library.files) {
      const source = join(root, file);
      if (!(await exists(source))) {
        throw new Error(`${library.pkg}@${manifest.version} has no ${file}: check the version in package.json`);
      }
      const name = library.rename?.[file] ?? file.split("/").pop();
      await cp(source, join(out, "lib", name));
    }
  }
  await writeFile(join(out, "lib", "versions.json"), JSON.stringify(versions, null, 2) + "\n");

  console.log(`dashboard built into ${out} (${Object.entries(versions).map(([k, v]) => `${k}@${v}`).join(", ")})`);
}

main().catch((error) => {
  console.error(`dashboard build failed: ${error.message}`);
  process.exit(1);
});
