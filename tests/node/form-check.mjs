// Validate answers against the form of a Backstage Software Template, the way Backstage does:
// every page of spec.parameters is a JSON schema checked against all the answers, on the server
// with the `jsonschema` package (what scaffolder-backend uses when a task is created) and in the
// browser with ajv 8 (what the react-jsonschema-form validator uses). Both compile `pattern`
// with the `u` flag.
//
// Usage: node form-check.mjs TEMPLATE.yaml
// First prints one line {"pages": [{title, required, properties}], "patternErrors": [...]}:
// every pattern compiled with `new RegExp(pattern, 'u')`, failures listed. Then reads JSON lines
// {"values": {...}, "explain": bool} from stdin and answers each, in order, with one line
// {"server": bool, "browser": bool, "errors": [...]} (errors only when asked to explain). Exit 2 when the template cannot be read
// or a page is not a JSON schema ajv compiles.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const YAML = require('yaml');
const { validate } = require('jsonschema');
const Ajv = require('ajv').default;

function patternsOf(schema, found = []) {
  if (schema && typeof schema === 'object') {
    if (typeof schema.pattern === 'string') found.push(schema.pattern);
    for (const value of Object.values(schema)) patternsOf(value, found);
  }
  return found;
}

function main(file) {
  let pages;
  try {
    pages = [YAML.parse(readFileSync(file, 'utf8')).spec.parameters].flat();
  } catch (error) {
    console.error(`cannot read ${file}: ${error.message}`);
    return 2;
  }
  const ajv = new Ajv({ allErrors: true, strict: false });
  let browser;
  try {
    browser = pages.map((page) => ajv.compile(page));
  } catch (error) {
    console.error(`a page is not a valid JSON schema: ${error.message}`);
    return 2;
  }
  const patternErrors = [];
  for (const pattern of patternsOf(pages)) {
    try {
      new RegExp(pattern, 'u');
    } catch (error) {
      patternErrors.push({ pattern, message: error.message });
    }
  }
  const summary = pages.map((page) => ({
    title: page.title,
    required: page.required ?? [],
    properties: page.properties ?? {},
  }));
  console.log(JSON.stringify({ pages: summary, patternErrors }));

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const { values, explain } = JSON.parse(line);
    const errors = [];
    let server = true;
    let ok = true;
    pages.forEach((page, index) => {
      const result = validate(values, page);
      if (!result.valid) {
        server = false;
        errors.push(...result.errors.map((error) => `server: ${error.stack}`));
      }
      if (!browser[index](values)) {
        ok = false;
        errors.push(...browser[index].errors.map((error) => `browser: ${error.instancePath} ${error.message}`));
      }
    });
    process.stdout.write(`${JSON.stringify({ server, browser: ok, errors: explain ? errors : [] })}\n`);
  });
  return 0;
}

process.exitCode = main(process.argv[2]);
