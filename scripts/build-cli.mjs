// Bundles portlab's commands into dist/ with esbuild: each command one entry, shared code split into chunks, and the
// dependencies bundled in (resolving and reading some 300 files of node_modules at every start cost more than the
// command's own work: `portlab inspect`'s wall is mostly node's start). Two of dockerode's imports are deferred to
// their first use, as portlab never makes that use: its BuildKit session (gRPC and protobufjs, only for
// `version: '2'` builds) and docker-modem's SSH transport (ssh2, only for ssh:// engines). Each is a pattern in a
// dependency's source; the build fails, saying which, when a new version no longer has it.
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

const DEFERRED = [
  {
    file: /dockerode[\\/]lib[\\/]docker\.js$/,
    eager: "withSession = require('./session'),",
    lazy: "withSession = function () { return require('./session').apply(this, arguments); },",
  },
  {
    file: /docker-modem[\\/]lib[\\/]modem\.js$/,
    eager: "ssh = require('./ssh'),",
    lazy: "ssh = function () { return require('./ssh').apply(this, arguments); },",
  },
];
/** Loaded from node_modules when used, not bundled: they read files beside them (.proto) or load native addons. */
const UNBUNDLED = [
  { importer: /dockerode[\\/]lib[\\/]docker\.js$/, path: /^\.\/(session|buildkit)$/, package: 'dockerode/lib/' },
  { importer: /docker-modem[\\/]lib[\\/]modem\.js$/, path: /^\.\/ssh$/, package: 'docker-modem/lib/' },
];

const deferImports = {
  name: 'defer-unused-imports',
  setup(esbuild) {
    for (const { file, eager, lazy } of DEFERRED) {
      esbuild.onLoad({ filter: file }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes(eager)) throw new Error(`${args.path} no longer has \`${eager}\`: see scripts/build-cli.mjs`);
        return { contents: source.replace(eager, lazy), loader: 'js' };
      });
    }
    for (const unbundled of UNBUNDLED) {
      esbuild.onResolve({ filter: unbundled.path }, (args) =>
        unbundled.importer.test(args.importer) ? { path: `${unbundled.package}${args.path.slice(2)}.js`, external: true } : undefined,
      );
    }
  },
};

await build({
  entryPoints: [
    'orchestrator/cli/portlab.ts',
    'orchestrator/cli/main.ts',
    'orchestrator/cli/sweep-command.ts',
    'orchestrator/cli/report-command.ts',
  ],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting: true,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // cpu-features is a native addon ssh2 may load; the bundled CommonJS needs a require of its own in ESM.
  external: ['cpu-features'],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __portlabRequire } from 'node:module';\nconst require = __portlabRequire(import.meta.url);",
  },
  plugins: [deferImports],
  logLevel: 'warning',
});
