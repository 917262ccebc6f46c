{{- define "chainnet-operator.name" -}}chainnet-operator{{- end -}}

{{- define "chainnet-operator.fullname" -}}
{{- if contains "chainnet-operator" .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-chainnet-operator" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "chainnet-operator.labels" -}}
app.kubernetes.io/name: {{ include "chainnet-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "chainnet-operator.selector" -}}
app.kubernetes.io/name: {{ include "chainnet-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
