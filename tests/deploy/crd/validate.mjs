// Validate custom resources (a JSON array on stdin) with the validators @kubernetes-models
// generates from the CRD schemas of KEDA and of the Prometheus Operator: types, required fields,
// enums. Prints one line per object; exits 1 if any is invalid. Used by tests/deploy.
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const kinds = {
  "keda.sh/v1alpha1": { ScaledObject, TriggerAuthentication },
  "monitoring.coreos.com/v1": { ServiceMonitor },
};
let input = "";
for await (const chunk of process.stdin) input += chunk;

let invalid = 0;
for (const doc of JSON.parse(input)) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const Model = kinds[doc.apiVersion]?.[doc.kind];
  if (!Model) {
    invalid++;
    console.log(`invalid ${name}: not a kind this checker knows (${doc.apiVersion})`);
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
