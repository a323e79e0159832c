// Validate KEDA resources (a JSON array on stdin) with the validators @kubernetes-models/keda
// generates from KEDA's CRD schemas: types, required fields, enums. Prints one line per object;
// exits 1 if any is invalid. Used by tests/deploy/test_k8s.py.
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const kinds = { ScaledObject, TriggerAuthentication };
let input = "";
for await (const chunk of process.stdin) input += chunk;

let invalid = 0;
for (const doc of JSON.parse(input)) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const Model = kinds[doc.kind];
  if (!Model || doc.apiVersion !== "keda.sh/v1alpha1") {
    invalid++;
    console.log(`invalid ${name}: not a keda.sh/v1alpha1 kind this checker knows`);
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok ${name}`);
  } catch (error) {
    invalid++;
    console.log(`invalid ${name}: ${error.message}`);
  }
}
process.exit(invalid ? 1 : 0);
