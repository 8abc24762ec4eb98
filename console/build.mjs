// Builds the console into dist/: src/main.jsx bundled and minified by
// esbuild into app.js, src/app.css and src/index.html copied. dist/ is
// committed and embedded in the junction binary (console.go), so building
// or running the hub needs no Node. dist/sources.sha256 lists the SHA-256 of
// every input; console_test.go recomputes it to catch sources changed
// without a rebuild (`make console`).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const src = join(here, "src");
const dist = join(here, "dist");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

await build({
  entryPoints: [join(src, "main.jsx")],
  outfile: join(dist, "app.js"),
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
});
copyFileSync(join(src, "app.css"), join(dist, "app.css"));
copyFileSync(join(src, "index.html"), join(dist, "index.html"));
copyFileSync(join(src, "favicon.svg"), join(dist, "favicon.svg"));

// Every input of the build, sorted: the sources, the build script and the
// lockfile (a dependency bump changes the bundle).
function files(dir, prefix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
const inputs = [...files(src, "src/"), "build.mjs", "package-lock.json"].sort();
const lines = inputs.map((f) => `${createHash("sha256").update(readFileSync(join(here, f))).digest("hex")}  ${f}\n`);
writeFileSync(join(dist, "sources.sha256"), lines.join(""));
