// Validate PrometheusRule objects against the Prometheus Operator's CRD schema, with
// @kubernetes-models/prometheus-operator (generated from the operator's CRDs; pinned in
// package-lock.json): `new PrometheusRule(object).validate()` throws on any schema violation.
//
// Usage: node validate-prometheusrule.mjs FILE...
// Prints a JSON list of {file, valid, message}; exit 0 when all are valid, 1 when any is
// invalid, 2 on a usage or read error.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

const require = createRequire(import.meta.url);
const YAML = require('yaml');

function check(file) {
  const documents = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  if (documents.length !== 1 || documents[0].errors.length) {
    return { file, valid: false, message: 'not one YAML document' };
  }
  const object = documents[0].toJS();
  if (object?.apiVersion !== PrometheusRule.apiVersion || object?.kind !== PrometheusRule.kind) {
    return { file, valid: false, message: `not a ${PrometheusRule.apiVersion} PrometheusRule` };
  }
  try {
    new PrometheusRule(object).validate();
    return { file, valid: true, message: '' };
  } catch (error) {
    return { file, valid: false, message: String(error?.message ?? error) };
  }
}

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node validate-prometheusrule.mjs FILE...');
  process.exit(2);
}
let results;
try {
  results = files.map(check);
} catch (error) {
  console.error(String(error));
  process.exit(2);
}
console.log(JSON.stringify(results, null, 2));
process.exit(results.every((r) => r.valid) ? 0 : 1);
