// Render a Software Template's ${{ }} expressions the way Backstage's scaffolder does, with npm's
// nunjucks, for the tests (tests/backstage_helpers.py drives it).
//
// The scaffolder's own renderer is not importable: SecureTemplater and NunjucksWorkflowRunner are
// internal to @backstage/plugin-scaffolder-backend (not exported, and the backend runs nunjucks
// inside isolated-vm, a native module), so this script repeats their configuration:
//   - SecureTemplater (nunjucks configured with autoescape off and variableStart '${{'; values and
//     filter results cross the sandbox as JSON):
//     https://github.com/backstage/backstage/blob/16d2c3dd7053a2804fd59eed5232ce1d9076c203/plugins/scaffolder-backend/src/lib/templating/SecureTemplater.ts
//   - NunjucksWorkflowRunner (render(): a string that is one expression is rewritten to
//     `${{ ( EXPR ) | dump }}` and parsed back as JSON so it keeps its type; '' means undefined,
//     which drops the key; a failed render keeps the raw string; execute(): the context):
//     https://github.com/backstage/backstage/blob/00b75a4b07bc04e063e3ec6bf93dd74fa8252f33/plugins/scaffolder-backend/src/scaffolder/tasks/NunjucksWorkflowRunner.ts
//   - the default filters (createDefaultFilters), each from the library the scaffolder calls:
//     https://github.com/backstage/backstage/blob/893d70cd27b9160b05f056c5c74cfadd310d46de/plugins/scaffolder-backend/src/lib/templating/filters/createDefaultFilters.ts
//
// Protocol: one JSON request per stdin line, one JSON answer per stdout line, in order:
//   {"requests": [REQUEST, ...]}  ->  {"answers": [ANSWER, ...]}
//   {"render": VALUE, "parameters": {...}, "steps": {id: {output: {...}}}}
//       -> {"value": RENDERED} or {"absent": true} (rendered to undefined), plus "errors": [...]
//          (what Backstage logs or swallows: a string that failed to render is kept as it was)
//   {"task": {"steps": [...], "output": {...}}, "parameters": {...}, "stepOutputs": {id: {...}}}
//       -> {"inputs": {id: RENDERED}, "output": RENDERED, "errors": [...]}: each step's input
//          rendered in order, seeing only earlier steps' outputs, then the template's output
//   {"parse": "TEMPLATE STRING"} -> {"ast": NODE} or {"error": "..."}, nunjucks' own parse tree
//       as {"type": typename, FIELD: ...} for each node
// A malformed line answers {"error": "..."} and the process goes on.
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nunjucks = require('nunjucks');

// The filters' libraries load on first use: template.yaml calls no filter, and loading
// @backstage/plugin-scaffolder-node takes most of a second.
let libraries;
function lib() {
  if (!libraries) {
    const { ScmIntegrations } = require('@backstage/integration');
    const { ConfigReader } = require('@backstage/config');
    libraries = {
      parseRepoUrl: require('@backstage/plugin-scaffolder-node').parseRepoUrl,
      parseEntityRef: require('@backstage/catalog-model').parseEntityRef,
      get: require('lodash').get,
      // Backstage's integrations with no app-config: github.com (the host template.yaml allows).
      integrations: ScmIntegrations.fromConfig(new ConfigReader({})),
    };
  }
  return libraries;
}

// createDefaultFilters; each filter's source, under plugins/scaffolder-backend/src/lib/templating/filters/:
const FILTERS = {
  // parseRepoUrl/filter.ts (74c924dcfb96d47496e9e9e111ca1ed138b46145)
  parseRepoUrl: (url) => lib().parseRepoUrl(url, lib().integrations),
  // parseEntityRef/filter.ts (d47b63c169e0271bc3e7e4b57f0a343195efec7c): catalog-model's
  parseEntityRef: (ref, context) => lib().parseEntityRef(ref, context),
  // pick/filter.ts (09af5f57167206126a2535620d71c24d0a8fbff3): lodash's get
  pick: (value, path) => lib().get(value, path),
  // projectSlug/filter.ts (893d70cd27b9160b05f056c5c74cfadd310d46de)
  projectSlug: (url) => {
    const { owner, repo } = lib().parseRepoUrl(url, lib().integrations);
    return `${owner}/${repo}`;
  },
};

const TAGS = { variableStart: '${{', variableEnd: '}}' };

// SecureTemplater's `env` (nunjucksConfigs is {} for the workflow runner).
const env = nunjucks.configure({ autoescape: false, tags: TAGS });
for (const [name, filter] of Object.entries(FILTERS)) {
  // Inside the sandbox: (...args) => JSON.parse(callFilter(name, args)), where callFilter
  // returns JSON.stringify(filter(...args)).
  env.addFilter(name, (...args) => JSON.parse(JSON.stringify(filter(...args))));
}

// SecureTemplater's render: values reach the sandbox as JSON; errors keep only their message.
function renderTemplate(template, values) {
  try {
    return env.renderString(String(template), JSON.parse(JSON.stringify(values)));
  } catch (error) {
    throw new Error(String(error.message));
  }
}

// NunjucksWorkflowRunner.isSingleTemplateString
function isSingleTemplateString(input) {
  const parsed = nunjucks.parser.parse(input, {}, { autoescape: false, tags: TAGS });
  return (
    parsed.children.length === 1 &&
    !(parsed.children[0]?.children?.[0] instanceof nunjucks.nodes.TemplateData)
  );
}

// NunjucksWorkflowRunner.render, with what it logs (or silently swallows) collected in `errors`.
function render(input, context, errors) {
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    try {
      if (typeof value === 'string') {
        try {
          if (isSingleTemplateString(value)) {
            const wrappedDumped = value.replace(/\${{(.+)}}/g, '${{ ( $1 ) | dump }}');
            const templated = renderTemplate(wrappedDumped, context);
            if (templated === '') {
              return undefined;
            }
            return JSON.parse(templated);
          }
        } catch (ex) {
          errors.push(`Failed to parse template string: ${value} with error ${ex.message}`);
        }
        const templated = renderTemplate(value, context);
        if (templated === '') {
          return undefined;
        }
        return templated;
      }
    } catch (ex) {
      errors.push(`Failed to render ${JSON.stringify(value)}: ${ex.message}`);
      return value;
    }
    return value;
  });
}

// NunjucksWorkflowRunner.execute's context, before any step ran (no user, no secrets).
function taskContext(parameters, steps = {}) {
  return {
    parameters,
    environment: { parameters: {}, secrets: {} },
    steps,
    context: { task: { id: 'test-task' } },
  };
}

function withValue(rendered, errors) {
  return rendered === undefined ? { absent: true, errors } : { value: rendered, errors };
}

function renderRequest({ render: input, parameters = {}, steps = {} }) {
  const errors = [];
  // executeStep's preIterationContext adds the (empty) secrets.
  const context = { ...taskContext(parameters, steps), secrets: {} };
  return withValue(render(input, context, errors), errors);
}

// execute(): steps in order, each step's output visible to the later ones, then spec.output.
// Step features this script does not model are refused rather than ignored.
function taskRequest({ task, parameters = {}, stepOutputs = {} }) {
  const errors = [];
  const context = taskContext(parameters);
  const inputs = {};
  for (const step of task.steps) {
    for (const key of ['if', 'each']) {
      if (key in step) {
        throw new Error(`step ${step.id}: '${key}' is not modelled by render-template.mjs`);
      }
    }
    inputs[step.id] = render(step.input ?? {}, { ...context, secrets: {} }, errors);
    context.steps[step.id] = { output: stepOutputs[step.id] ?? {} };
  }
  return { inputs, output: render(task.output ?? {}, context, errors), errors };
}

function tree(node) {
  if (Array.isArray(node)) {
    return node.map(tree);
  }
  if (!(node instanceof nunjucks.nodes.Node)) {
    return node ?? null;
  }
  const out = { type: node.typename };
  for (const field of node.fields) {
    out[field] = tree(node[field]);
  }
  return out;
}

function parseRequest({ parse }) {
  try {
    return { ast: tree(nunjucks.parser.parse(parse, {}, { autoescape: false, tags: TAGS })) };
  } catch (error) {
    return { error: String(error.message) };
  }
}

function answer(request) {
  if ('render' in request) return renderRequest(request);
  if ('task' in request) return taskRequest(request);
  if ('parse' in request) return parseRequest(request);
  throw new Error(`unknown request: ${Object.keys(request).join(', ')}`);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let reply;
  try {
    const { requests } = JSON.parse(line);
    reply = { answers: requests.map(answer) };
  } catch (error) {
    reply = { error: String(error.message) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
