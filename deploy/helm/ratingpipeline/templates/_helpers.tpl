{{/* The chart's name, at most 63 characters. */}}
{{- define "ratingpipeline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: the release name, followed by the chart name unless it already holds it. */}}
{{- define "ratingpipeline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* helm.sh/chart label value. */}}
{{- define "ratingpipeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The recommended labels every object carries (app.kubernetes.io/component is added per object). */}}
{{- define "ratingpipeline.labels" -}}
helm.sh/chart: {{ include "ratingpipeline.chart" . }}
{{ include "ratingpipeline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ratingpipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels selectors use (with app.kubernetes.io/component). */}}
{{- define "ratingpipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ratingpipeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The image reference. */}}
{{- define "ratingpipeline.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The service account name. */}}
{{- define "ratingpipeline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "ratingpipeline.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
Environment both workers share: where Kafka is and how to reach it (credentials from Secrets only), topic
name overrides, and where /metrics and /healthz listen.
*/}}
{{- define "ratingpipeline.commonEnv" -}}
- name: Kafka__BootstrapServers
  value: {{ required "kafka.bootstrapServers is required (host:port[,host:port...])" .Values.kafka.bootstrapServers | quote }}
{{- range $name, $value := .Values.kafka.properties }}
- name: Kafka__Properties__{{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- if .Values.kafka.sasl.existingSecret }}
- name: Kafka__Properties__sasl.username
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: Kafka__Properties__sasl.password
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- if .Values.kafka.tls.caSecret }}
- name: Kafka__Properties__ssl.ca.location
  value: /etc/ratingpipeline/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- range $role, $name := .Values.topics }}
- name: Topics__{{ $role }}
  value: {{ $name | quote }}
{{- end }}
- name: Http__Url
  value: {{ printf "http://0.0.0.0:%v" .Values.metrics.port | quote }}
{{- end }}

{{/* Volume mounts both workers share: the writable /tmp and the Kafka CA certificate. */}}
{{- define "ratingpipeline.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/ratingpipeline/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* Volumes both workers share. */}}
{{- define "ratingpipeline.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
{{- end }}
{{- end }}
