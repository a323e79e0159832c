#!/usr/bin/env bash
# Install or upgrade authstack with plain kubectl, migrator first:
#   k8s/rollout.sh k8s/overlays/production [namespace]
#
#  1. delete the previous migrator Job (a Job's pod template cannot be changed in place);
#  2. apply everything except the workloads and the Job: config, network policies, ingress,
#     ClickHouse; wait for ClickHouse (every StatefulSet) to be ready, since the Job migrates it;
#  3. apply the migrator Job and wait for it to succeed; on failure print its logs and stop,
#     leaving the running version untouched;
#  4. apply the rest and wait for every Deployment to roll out.
# Argo CD users need none of this: sync waves order config and ClickHouse, Job, apps. Back up the
# databases first.
set -euo pipefail

overlay=${1:?usage: k8s/rollout.sh <overlay directory> [namespace]}
namespace=${2:-authstack}
kubectl=${KUBECTL:-kubectl}
timeout_s=${AUTHSTACK_MIGRATION_TIMEOUT_SECONDS:-1800}

migrator='app.kubernetes.io/component=migrator'
# Everything that must wait for the migration (their ScaledObject and HPAs included).
workloads='api,dashboard,worker,cron'

echo "==> removing the previous migrator Job"
"$kubectl" --namespace "$namespace" delete job --selector "$migrator" --ignore-not-found --wait=true

echo "==> applying configuration and ClickHouse"
"$kubectl" apply --kustomize "$overlay" --selector "app.kubernetes.io/component notin ($workloads,migrator)"
for statefulset in $("$kubectl" --namespace "$namespace" get statefulsets \
        --selector app.kubernetes.io/part-of=authstack --output name); do
    "$kubectl" --namespace "$namespace" rollout status "$statefulset" --timeout=10m
done

echo "==> applying the migrator Job"
"$kubectl" apply --kustomize "$overlay" --selector "$migrator"

migration_failed() {
    echo "migration $1; the running version is untouched. The migrator's logs:" >&2
    "$kubectl" --namespace "$namespace" logs --selector "$migrator" --tail=200 >&2 || true
    exit 1
}

echo "==> waiting for the migration (up to ${timeout_s} s)"
deadline=$((SECONDS + timeout_s))
while :; do
    conditions=$("$kubectl" --namespace "$namespace" get job --selector "$migrator" \
        --output 'jsonpath={range .items[*].status.conditions[*]}{.type}={.status}{"\n"}{end}')
    if grep -qx 'Complete=True' <<<"$conditions"; then
        break
    elif grep -qx 'Failed=True' <<<"$conditions"; then
        migration_failed "failed"
    elif ((SECONDS >= deadline)); then
        migration_failed "did not finish within ${timeout_s} s"
    fi
    sleep "${AUTHSTACK_POLL_SECONDS:-5}"
done

echo "==> applying the apps"
"$kubectl" apply --kustomize "$overlay"

echo "==> waiting for the rollouts"
for deployment in $("$kubectl" --namespace "$namespace" get deployments \
        --selector app.kubernetes.io/part-of=authstack --output name); do
    "$kubectl" --namespace "$namespace" rollout status "$deployment" --timeout=10m
done
echo "==> done"
