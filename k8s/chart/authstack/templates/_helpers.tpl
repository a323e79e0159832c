{{/*
Names and labels. Every object is named authstack-<component> (fullnameOverride changes the
prefix) and pods are selected by app.kubernetes.io/name + component only, exactly as the
kustomize base has always been: one release per namespace.
*/}}
{{- define "authstack.fullname" -}}
{{- .Values.fullnameOverride | default "authstack" | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "authstack.name" -}}authstack{{- end -}}

{{/* Plain manifests (scripts/render_k8s.py): no Helm hooks or release bookkeeping. */}}
{{- define "authstack.helm" -}}
{{- if not .Values.render.plainManifests -}}true{{- end -}}
{{- end -}}

{{/* Pod selector labels; call with (dict "root" $ "component" "api"). */}}
{{- define "authstack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "authstack.name" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Object labels: the selector labels, part-of, and under Helm the release's own. */}}
{{- define "authstack.labels" -}}
{{ include "authstack.selectorLabels" . }}
app.kubernetes.io/part-of: authstack
{{- if include "authstack.helm" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Argo CD sync waves: configuration, network policies, the ingress and ClickHouse (-1) before the
migrator Job (0), the workloads (1) after it. Plain kubectl and Helm ignore them.
*/}}
{{- define "authstack.syncWave" -}}
{{- if has . (list "api" "dashboard" "worker" "cron") -}}
argocd.argoproj.io/sync-wave: "1"
{{- else if eq . "migrator" -}}
argocd.argoproj.io/sync-wave: "0"
{{- else -}}
argocd.argoproj.io/sync-wave: "-1"
{{- end -}}
{{- end -}}

{{/*
metadata: name, labels, annotations (sync wave, then extra ones); call with
(dict "root" $ "component" "api" "name" "authstack-api" "annotations" (dict ...)).
*/}}
{{- define "authstack.metadata" -}}
name: {{ .name }}
labels:
  {{- include "authstack.labels" . | nindent 2 }}
annotations:
  {{- include "authstack.syncWave" .component | nindent 2 }}
  {{- with .annotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
Helm hook annotations for what the pre-install/pre-upgrade migrator needs before the release's
own objects exist (ConfigMaps, ServiceAccount): created first, re-created on every upgrade and
rollback. Empty for plain manifests.
*/}}
{{- define "authstack.prerequisiteHook" -}}
{{- if include "authstack.helm" . -}}
helm.sh/hook: pre-install,pre-upgrade,pre-rollback
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}
{{- end -}}

{{/* An image: (dict "root" $ "image" .Values.api.image). */}}
{{- define "authstack.image" -}}
{{- $registry := .image.registry | default .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "authstack.secret" -}}{{ .Values.existingSecret }}{{- end -}}

{{/* One environment variable from the Secret: (dict "root" $ "key" "X" "optional" true "as" "Y"). */}}
{{- define "authstack.secretEnv" -}}
- name: {{ .as | default .key }}
  valueFrom:
    secretKeyRef: {name: {{ include "authstack.secret" .root }}, key: {{ .key }}{{ if .optional }}, optional: true{{ end }}}
{{- end -}}

{{/* The pod security context of our images (uid/gid 10001, the Dockerfiles' USER). */}}
{{- define "authstack.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
{{- if .fsGroup }}
fsGroup: 10001
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "authstack.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Pod metadata: selector labels, pod annotations, and under Helm the config checksum. */}}
{{- define "authstack.podMetadata" -}}
labels:
  {{- include "authstack.selectorLabels" . | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (dict) (.podAnnotations | default dict) (.root.Values.podAnnotations | default dict) }}
{{- if include "authstack.helm" .root }}
{{- $_ := set $annotations "checksum/config" (include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum) }}
{{- end }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Use as {{- with include "authstack.imagePullSecrets" $ }}{{ . | nindent N }}{{ end }}. */}}
{{- define "authstack.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* Where the dashboard and CronJobs reach the API inside the cluster. */}}
{{- define "authstack.internalApiUrl" -}}
{{- .Values.urls.internalApi | default (printf "http://%s-api:8102" (include "authstack.fullname" .)) -}}
{{- end -}}

{{/* STACK_CLICKHOUSE_URL: ours, an external server, or disabled. */}}
{{- define "authstack.clickhouseUrl" -}}
{{- if .Values.clickhouse.enabled -}}
{{- printf "http://%s-clickhouse:8123" (include "authstack.fullname" .) -}}
{{- else -}}
{{- .Values.clickhouse.url | default "disabled" -}}
{{- end -}}
{{- end -}}
