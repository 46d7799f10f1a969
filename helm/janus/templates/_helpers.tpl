{{/* The generated controller RBAC names the namespaces `janus` and `janus-tokens`: refuse others. */}}
{{- define "janus.checkNamespace" -}}
{{- if ne .Release.Namespace "janus" -}}
{{- fail (printf "install Janus into the namespace janus (got %q): files/controller-rbac.yaml is generated for it" .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{- define "janus.tokensNamespace" -}}janus-tokens{{- end -}}

{{- define "janus.labels" -}}
app.kubernetes.io/name: janus
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "janus.selector" (list . "web") */}}
{{- define "janus.selector" -}}
app.kubernetes.io/name: janus
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
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

{{/* Scheduling and pod-level settings shared by the Deployments: include "janus.podCommon" (list . .Values.web) */}}
{{- define "janus.podCommon" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
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
{{- end -}}
