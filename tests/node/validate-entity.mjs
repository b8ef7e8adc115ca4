// Validate Backstage catalog files the way the catalog does on ingestion, with
// @backstage/catalog-model itself: parse every YAML document, check the envelope, apply the
// default entity policies, the entity schema, then the validator of the entity's kind.
//
// Usage: node validate-entity.mjs FILE...
// Prints a JSON list of {file, document, valid, ref, stage, message}; exit 0 when all are
// valid, 1 when any is invalid, 2 on a usage or read error.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const model = require('@backstage/catalog-model');
// The scaffolder's processor adds the Template kind to the catalog.
const { templateEntityV1beta3Validator } = require('@backstage/plugin-scaffolder-common');
const YAML = require('yaml');

const kindValidators = [
  model.componentEntityV1alpha1Validator,
  model.apiEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
  templateEntityV1beta3Validator,
];
const policy = model.EntityPolicies.allOf([
  new model.SchemaValidEntityPolicy(),
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(model.makeValidator()),
]);
const envelope = model.entityEnvelopeSchemaValidator();
const schema = model.entitySchemaValidator();

function refOf(entity) {
  try {
    return model.stringifyEntityRef(entity);
  } catch {
    return null;
  }
}

async function validateEntity(raw) {
  let stage = 'envelope';
  try {
    envelope(raw);
    stage = 'policy';
    const entity = await policy.enforce(raw);
    stage = 'schema';
    schema(entity);
    stage = 'kind';
    for (const validator of kindValidators) {
      if (await validator.check(entity)) return { valid: true, ref: refOf(entity), stage: 'ok', message: '' };
    }
    return { valid: false, ref: refOf(raw), stage, message: `No processor recognized the entity ${refOf(raw)} as valid` };
  } catch (error) {
    return { valid: false, ref: refOf(raw), stage, message: String(error.message ?? error) };
  }
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node validate-entity.mjs FILE...');
    return 2;
  }
  const results = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      console.error(`cannot read ${file}: ${error.message}`);
      return 2;
    }
    const documents = YAML.parseAllDocuments(text, { merge: false });
    for (const [index, document] of documents.entries()) {
      if (document.errors.length > 0) {
        results.push({ file, document: index, valid: false, ref: null, stage: 'parse', message: document.errors[0].message });
        continue;
      }
      const raw = document.toJSON();
      if (raw === null) continue;
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        results.push({ file, document: index, valid: false, ref: null, stage: 'parse', message: `Expected object at root, got ${typeof raw}` });
        continue;
      }
      results.push({ file, document: index, ...(await validateEntity(raw)) });
    }
  }
  console.log(JSON.stringify(results, null, 2));
  return results.every((result) => result.valid) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
