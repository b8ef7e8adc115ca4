// Run Backstage's real fetch:cookiecutter action (@backstage/plugin-scaffolder-backend-module-cookiecutter)
// outside a Backstage backend, the way the scaffolder would: a file:// template location, the
// step's input, a workspace. cookiecutter must be on PATH (then no container runner is needed);
// it inherits this process's environment, so set COOKIECUTTER_CONFIG to keep replay files out of
// the home folder.
//
// Usage: node fetch-cookiecutter.mjs < request.json
//   request: {"templateFile": "/abs/template.yaml", "runs": [{"workspace": "/abs/dir", "input": {...}}]}
// Prints a JSON list, one {workspace, ok, error, log} per run, in order. Runs are sequential so
// that one Node start-up serves them all. Exit 0 when every run succeeded, 1 otherwise, 2 on a
// bad request.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const { createFetchCookiecutterAction } = require('@backstage/plugin-scaffolder-backend-module-cookiecutter');
const { ScmIntegrations } = require('@backstage/integration');
const { ConfigReader } = require('@backstage/config');

const action = createFetchCookiecutterAction({
  integrations: ScmIntegrations.fromConfig(new ConfigReader({})),
  // A relative url under a file:// template location is copied from disk; the reader is only
  // for remote urls, which these runs must never use.
  reader: {
    readTree: async () => {
      throw new Error('remote fetch attempted');
    },
  },
  containerRunner: undefined,
});

function makeLogger(lines) {
  const logger = {};
  for (const level of ['error', 'warn', 'info', 'debug']) {
    logger[level] = (message) => lines.push(`${level}: ${message}`);
  }
  logger.child = () => logger;
  return logger;
}

async function runOnce(templateFile, { workspace, input }) {
  const lines = [];
  const temporary = [];
  const ctx = {
    input,
    workspacePath: workspace,
    templateInfo: { baseUrl: pathToFileURL(templateFile).href, entityRef: 'template:default/test' },
    logger: makeLogger(lines),
    logStream: new PassThrough(),
    output: () => {},
    createTemporaryDirectory: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fetch-cookiecutter-'));
      temporary.push(dir);
      return dir;
    },
    checkpoint: async ({ fn }) => fn(),
    getInitiatorCredentials: async () => ({ $$type: '@backstage/BackstageCredentials', principal: { type: 'none' } }),
    task: { id: 'test-task' },
    step: { id: 'fetch', name: 'fetch' },
    signal: new AbortController().signal,
    isDryRun: false,
    each: undefined,
  };
  try {
    await action.handler(ctx);
    return { workspace, ok: true, error: '', log: lines };
  } catch (error) {
    return { workspace, ok: false, error: String(error?.stack ?? error), log: lines };
  } finally {
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  let request;
  try {
    request = JSON.parse(readFileSync(0, 'utf8'));
  } catch (error) {
    console.error(`bad request: ${error.message}`);
    return 2;
  }
  const results = [];
  for (const run of request.runs) results.push(await runOnce(request.templateFile, run));
  console.log(JSON.stringify(results, null, 2));
  return results.every((result) => result.ok) ? 0 : 1;
}

process.exitCode = await main();
