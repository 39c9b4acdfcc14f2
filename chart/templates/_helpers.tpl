{{/* Common labels, used on every object of the chart. */}}
{{- define "ecrcontrol.labels" -}}
app.kubernetes.io/name: ecrcontrol
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
