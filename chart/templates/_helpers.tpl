{{/* Name of the chart (nameOverride wins). */}}
{{- define "ecrcontrol.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects: release name, with the chart name unless it contains it. */}}
{{- define "ecrcontrol.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ecrcontrol.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ecrcontrol.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels, used on every object of the chart. */}}
{{- define "ecrcontrol.labels" -}}
app.kubernetes.io/name: {{ include "ecrcontrol.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of the release's pods (a component label is added per Deployment). */}}
{{- define "ecrcontrol.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecrcontrol.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ecrcontrol.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ecrcontrol.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ecrcontrol.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ecrcontrol.djangoSecretName" -}}
{{- default (printf "%s-django" (include "ecrcontrol.fullname" .)) .Values.django.existingSecret -}}
{{- end -}}

{{- define "ecrcontrol.adminSecretName" -}}
{{- default (printf "%s-admin" (include "ecrcontrol.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "ecrcontrol.tlsSecretName" -}}
{{- printf "%s-webhook-tls" (include "ecrcontrol.fullname" .) -}}
{{- end -}}

{{- define "ecrcontrol.mutatingName" -}}
{{- printf "%s-mutating" (include "ecrcontrol.fullname" .) -}}
{{- end -}}

{{- define "ecrcontrol.validatingName" -}}
{{- printf "%s-validating" (include "ecrcontrol.fullname" .) -}}
{{- end -}}

{{/* Host names the web role answers to: loopback (probes), the Service's names, the ingress host. */}}
{{- define "ecrcontrol.allowedHosts" -}}
{{- $svc := include "ecrcontrol.fullname" . -}}
{{- $hosts := list "localhost" "127.0.0.1" $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) -}}
{{- if .Values.ingress.enabled -}}{{- $hosts = append $hosts .Values.ingress.host -}}{{- end -}}
{{- concat $hosts .Values.django.allowedHosts | uniq | join "," -}}
{{- end -}}

{{/* Environment shared by every ecrcontrol container. */}}
{{- define "ecrcontrol.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: DJANGO_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "ecrcontrol.djangoSecretName" . }}
      key: secret-key
- name: DJANGO_ALLOWED_HOSTS
  value: {{ include "ecrcontrol.allowedHosts" . | quote }}
- name: ECRCONTROL_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
# Client-side rate limit of requests to the API server (client-go's QPS and Burst).
- name: ECRCONTROL_KUBE_QPS
  value: {{ .Values.kubeApi.qps | quote }}
- name: ECRCONTROL_KUBE_BURST
  value: {{ .Values.kubeApi.burst | int | quote }}
# Locks and records the processes of a pod share per AWS identity (never a key or a token): on
# the pod's writable /tmp, which every container of the pod mounts.
- name: ECRCONTROL_LOCK_DIR
  value: /tmp/ecrcontrol-locks
{{- if eq .Values.database.mode "external" }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.external.existingSecret }}
      key: {{ .Values.database.external.key }}
{{- end }}
{{- if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.key }}
{{- end }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: /tmp/prometheus
# Which resources may use the operator's own AWS identity (unquoted YAML `off` arrives as false).
{{- $ambient := .Values.aws.ambientCredentials }}
- name: ECRCONTROL_AMBIENT_CREDENTIALS
  value: {{ ternary "off" $ambient (kindIs "bool" $ambient) | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Probes of the worker and controller: their plain-HTTP health port. Argument: the port. */}}
{{- define "ecrcontrol.healthProbes" -}}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ . }}
  periodSeconds: 5
  timeoutSeconds: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "ecrcontrol.leaseName" -}}
{{- printf "%s-controller" (include "ecrcontrol.fullname" .) -}}
{{- end -}}

{{/* Security context of every container: non-root, read-only root filesystem, no capabilities. */}}
{{- define "ecrcontrol.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Mounts of every ecrcontrol container: a writable /tmp, /data in SQLite mode, extraVolumeMounts. */}}
{{- define "ecrcontrol.mounts" -}}
- name: tmp
  mountPath: /tmp
{{- if eq .Values.database.mode "sqlite" }}
- name: data
  mountPath: /data
{{- end }}
{{- include "ecrcontrol.extraMounts" . }}
{{- end -}}

{{/* extraVolumeMounts (e.g. IRSA's projected token), in every container of the ecrcontrol pods. */}}
{{- define "ecrcontrol.extraMounts" -}}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ecrcontrol.migrateCommand" -}}
["python", "manage.py", "migrate", "--noinput"]
{{- end -}}

{{/* The first admin login, created once (idempotent), from the admin Secret. */}}
{{- define "ecrcontrol.ensureAdminContainer" -}}
- name: ensure-admin
  image: {{ include "ecrcontrol.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    {{- if eq .Values.database.mode "sqlite" }}
    # SQLite: migrations run here, before the roles start, on every (re)start of the single pod.
    - sh
    - -c
    - python manage.py migrate --noinput && python manage.py ensureadmin
    {{- else }}
    # PostgreSQL: the migration hook Job already ran (pre-install, pre-upgrade).
    - python
    - manage.py
    - ensureadmin
    {{- end }}
  env:
    {{- include "ecrcontrol.env" . | nindent 4 }}
    - name: DJANGO_SUPERUSER_USERNAME
      value: {{ .Values.admin.username | quote }}
    - name: DJANGO_SUPERUSER_EMAIL
      value: {{ .Values.admin.email | quote }}
    - name: DJANGO_SUPERUSER_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "ecrcontrol.adminSecretName" . }}
          key: password
  securityContext:
    {{- include "ecrcontrol.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  volumeMounts:
    {{- include "ecrcontrol.mounts" . | nindent 4 }}
{{- end -}}

{{/* "self" TLS: a native sidecar that issues/renews the certificate and writes it for gunicorn. */}}
{{- define "ecrcontrol.webhookCertsContainer" -}}
{{- if eq .Values.webhooks.tls "self" }}
- name: webhook-certs
  image: {{ include "ecrcontrol.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  restartPolicy: Always
  command:
    - python
    - manage.py
    - webhookcerts
    - --secret={{ include "ecrcontrol.tlsSecretName" . }}
    - --service={{ include "ecrcontrol.fullname" . }}
    - --mutating={{ include "ecrcontrol.mutatingName" . }}
    - --validating={{ include "ecrcontrol.validatingName" . }}
    - --out=/tls
    - --every={{ .Values.webhooks.renewCheckSeconds }}
  env:
    {{- include "ecrcontrol.env" . | nindent 4 }}
  startupProbe:
    exec:
      command: ["test", "-s", "/tls/tls.crt"]
    periodSeconds: 1
    failureThreshold: 120
  securityContext:
    {{- include "ecrcontrol.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: tls
      mountPath: /tls
    {{- include "ecrcontrol.extraMounts" . | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "ecrcontrol.healthzGet" -}}
path: {{ .path | default "/healthz" }}
port: https
scheme: HTTPS
httpHeaders:
  - name: Host
    value: localhost
{{- end -}}

{{- /* The web role (gunicorn over TLS). In SQLite mode its process also hosts the controller and
worker roles (ECRCONTROL_EMBEDDED=1, secrets_app.embedded): the three roles load Django, the
Kubernetes client and boto3 once. */ -}}
{{- define "ecrcontrol.webContainer" -}}
{{- $embedded := eq .Values.database.mode "sqlite" -}}
- name: {{ ternary "ecrcontrol" "web" $embedded }}
  image: {{ include "ecrcontrol.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["gunicorn", "-c", "python:ecrcontrol.gunicorn", "ecrcontrol.wsgi"]
  env:
    {{- include "ecrcontrol.env" . | nindent 4 }}
    {{- if $embedded }}
    - name: ECRCONTROL_EMBEDDED
      value: "1"
    - name: ECRCONTROL_WORKER_THREADS
      value: {{ .Values.worker.threads | quote }}
    {{- include "ecrcontrol.leaderElectionEnv" . | nindent 4 }}
    {{- end }}
    - name: ECRCONTROL_BIND
      value: "0.0.0.0:{{ .Values.web.port }}"
    - name: ECRCONTROL_TLS_CERT_FILE
      value: /tls/tls.crt
    - name: ECRCONTROL_TLS_KEY_FILE
      value: /tls/tls.key
    - name: ECRCONTROL_WEB_WORKERS
      value: {{ .Values.web.workers | quote }}
    - name: ECRCONTROL_WEB_THREADS
      value: {{ .Values.web.threads | quote }}
    - name: ECRCONTROL_METRICS_BIND
      value: "0.0.0.0:{{ .Values.metrics.ports.web }}"
  ports:
    - name: https
      containerPort: {{ .Values.web.port }}
      protocol: TCP
    - name: metrics
      containerPort: {{ .Values.metrics.ports.web }}
      protocol: TCP
  readinessProbe:
    httpGet:
      {{- include "ecrcontrol.healthzGet" (dict "path" "/readyz") | nindent 6 }}
    periodSeconds: 5
    timeoutSeconds: 3
  livenessProbe:
    httpGet:
      {{- include "ecrcontrol.healthzGet" (dict "path" "/healthz") | nindent 6 }}
    periodSeconds: 20
    timeoutSeconds: 5
    failureThreshold: 3
  securityContext:
    {{- include "ecrcontrol.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml (.Values.web.resources | default .Values.resources) | nindent 4 }}
  volumeMounts:
    {{- include "ecrcontrol.mounts" . | nindent 4 }}
    - name: tls
      mountPath: /tls
      readOnly: true
{{- end -}}

{{- define "ecrcontrol.workerContainer" -}}
- name: worker
  image: {{ include "ecrcontrol.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python", "manage.py", "worker"]
  env:
    {{- include "ecrcontrol.env" . | nindent 4 }}
    - name: ECRCONTROL_WORKERS
      value: {{ .Values.worker.processes | quote }}
    - name: ECRCONTROL_METRICS_BIND
      value: "0.0.0.0:{{ .Values.metrics.ports.worker }}"
  ports:
    - name: metrics-worker
      containerPort: {{ .Values.metrics.ports.worker }}
      protocol: TCP
  {{- include "ecrcontrol.healthProbes" .Values.metrics.ports.worker | nindent 2 }}
  securityContext:
    {{- include "ecrcontrol.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml (.Values.worker.resources | default .Values.resources) | nindent 4 }}
  volumeMounts:
    {{- include "ecrcontrol.mounts" . | nindent 4 }}
{{- end -}}

{{/* Leader election of the controller role. Argument: the root context. */}}
{{- define "ecrcontrol.leaderElectionEnv" -}}
{{- with .Values.controller.leaderElection }}
- name: ECRCONTROL_LEADER_ELECTION
  value: {{ ternary "1" "0" .enabled | quote }}
- name: ECRCONTROL_LEADER_ELECTION_NAME
  value: {{ include "ecrcontrol.leaseName" $ | quote }}
{{- with .leaseDurationSeconds }}
- name: ECRCONTROL_LEADER_ELECTION_LEASE_SECONDS
  value: {{ . | quote }}
{{- end }}
{{- with .renewDeadlineSeconds }}
- name: ECRCONTROL_LEADER_ELECTION_RENEW_SECONDS
  value: {{ . | quote }}
{{- end }}
{{- with .retryPeriodSeconds }}
- name: ECRCONTROL_LEADER_ELECTION_RETRY_SECONDS
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The controller role in its own pod (database.mode=external). */}}
{{- define "ecrcontrol.controllerContainer" -}}
- name: controller
  image: {{ include "ecrcontrol.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python", "manage.py", "controller"]
  env:
    {{- include "ecrcontrol.env" . | nindent 4 }}
    - name: ECRCONTROL_METRICS_BIND
      value: "0.0.0.0:{{ .Values.metrics.ports.controller }}"
    {{- include "ecrcontrol.leaderElectionEnv" . | nindent 4 }}
  ports:
    - name: metrics-ctrl
      containerPort: {{ .Values.metrics.ports.controller }}
      protocol: TCP
  {{- include "ecrcontrol.healthProbes" .Values.metrics.ports.controller | nindent 2 }}
  securityContext:
    {{- include "ecrcontrol.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml (.Values.controller.resources | default .Values.resources) | nindent 4 }}
  volumeMounts:
    {{- include "ecrcontrol.mounts" . | nindent 4 }}
{{- end -}}

{{/* Pod-level settings shared by every Deployment. Argument: dict "root" . "web" bool. */}}
{{- define "ecrcontrol.podSpecCommon" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "ecrcontrol.serviceAccountName" $root }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $root.Values.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
terminationGracePeriodSeconds: 30
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- if eq $root.Values.database.mode "sqlite" }}
  - name: data
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-data" (include "ecrcontrol.fullname" $root)) $root.Values.database.sqlite.existingClaim }}
  {{- end }}
  {{- if .web }}
  - name: tls
    {{- if eq $root.Values.webhooks.tls "self" }}
    emptyDir:
      medium: Memory
    {{- else }}
    secret:
      secretName: {{ include "ecrcontrol.tlsSecretName" $root }}
    {{- end }}
  {{- end }}
  {{- with $root.Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Pod metadata of a Deployment. Argument: dict "root" . "component" name. */}}
{{- define "ecrcontrol.podMetadata" -}}
{{- $root := .root -}}
labels:
  {{- include "ecrcontrol.selectorLabels" $root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- if .web }}
  ecrcontrol.io/web: "true"
  {{- end }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if or $root.Values.podAnnotations $root.Values.metrics.scrapeAnnotations }}
annotations:
  {{- with $root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- if $root.Values.metrics.scrapeAnnotations }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ get $root.Values.metrics.ports (.metricsRole | default .component) | quote }}
  prometheus.io/path: /metrics
  {{- end }}
{{- end }}
{{- end -}}
