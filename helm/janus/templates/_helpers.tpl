{{/* The generated controller RBAC names the namespaces `janus` and `janus-tokens`: refuse others. */}}
{{- define "janus.checkNamespace" -}}
{{- if ne .Release.Namespace "janus" -}}
{{- fail (printf "install Janus into the namespace janus (got %q): files/controller-rbac.yaml is generated for it" .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{- define "janus.tokensNamespace" -}}janus-tokens{{- end -}}

{{/* The standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/)
of one object: include "janus.labels" (list . "web"). Every object names its component. */}}
{{- define "janus.labels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: janus
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/part-of: janus
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "janus.selector" (list . "web") */}}
{{- define "janus.selector" -}}
app.kubernetes.io/name: janus
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* A generated multi-document file of files/, each object given the chart's labels (over the
generator's own managed-by): include "janus.generatedFile" (list . "files/x.yaml" "rbac") */}}
{{- define "janus.generatedFile" -}}
{{- $root := index . 0 -}}
{{- $labels := include "janus.labels" (list $root (index . 2)) | fromYaml -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" ($root.Files.Get (index . 1)) -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj }}
{{- $_ := set $obj.metadata "labels" (merge (deepCopy $labels) ($obj.metadata.labels | default dict)) }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the chart-wide ones, then the component's (which win). */}}
{{- define "janus.podAnnotations" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- with merge (deepCopy ($c.podAnnotations | default dict)) ($root.Values.podAnnotations | default dict) -}}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/* Extra environment variables of a component's containers: chart-wide, then the component's. */}}
{{- define "janus.extraEnv" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- with concat ($root.Values.extraEnv | default list) ($c.extraEnv | default list) -}}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{- define "janus.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Every container: no privilege escalation, no capabilities, read-only root filesystem. */}}
{{- define "janus.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "janus.policiesConfigMap" -}}
{{- .Values.policies.existingConfigMap | default "janus-policies" -}}
{{- end -}}

{{/* Scheduling and pod-level settings shared by the Deployments:
include "janus.podCommon" (list . .Values.web "web"). Several replicas are spread over nodes and
zones softly (ScheduleAnyway), unless the component's own topologySpreadConstraints are given or
spreadReplicas is false. */}}
{{- define "janus.podCommon" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $name := index . 2 -}}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $c.topologySpreadConstraints | nindent 2 }}
{{- else if and $c.spreadReplicas (gt (int $c.replicas) 1) }}
topologySpreadConstraints:
  {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ $key }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "janus.selector" (list $root $name) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}
