{{/* The chart name, or nameOverride. */}}
{{- define "zhisuan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name when it already holds the chart name, or
fullnameOverride. Cut to 40 characters so suffixed names ("-controller-metrics") fit 63. */}}
{{- define "zhisuan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zhisuan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. Call with (dict "ctx" $ "component" "controller"). */}}
{{- define "zhisuan.labels" -}}
helm.sh/chart: {{ include "zhisuan.chart" .ctx }}
{{ include "zhisuan.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: zhisuan
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: stable across upgrades, so never the version. */}}
{{- define "zhisuan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zhisuan.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "zhisuan.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (printf "%s-controller" (include "zhisuan.fullname" .)) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "zhisuan.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "zhisuan.fullname" .)) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- required "agent.serviceAccount.name is required when agent.serviceAccount.create is false" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference. Call with (dict "image" .Values.agent.image "ctx" $). */}}
{{- define "zhisuan.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The restricted container securityContext shared by the controller and the unprivileged agent. */}}
{{- define "zhisuan.restrictedContainerSecurityContext" -}}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The energy profile file the agent reads (--energy-profile-file), from a values entry. */}}
{{- define "zhisuan.energyProfileFile" -}}
source: {{ .source | quote }}
zone: {{ .zone | default "" | quote }}
{{- /* An unset figure is left out, so the agent reports it as unknown rather than as 0. */}}
{{- if not (kindIs "invalid" .carbonIntensity) }}
carbonIntensityGramsPerKwh: {{ .carbonIntensity }}
{{- end }}
{{- if not (kindIs "invalid" .carbonFreeRatio) }}
carbonFreeRatio: {{ .carbonFreeRatio }}
{{- end }}
{{- end -}}

{{/*
Contradictory values fail the render, with a message naming what to change. The schema checks
each value alone; these checks need two or more.
*/}}
{{- define "zhisuan.validate" -}}
{{- $c := .Values.controller -}}
{{- if and (gt (int $c.replicas) 1) (not $c.leaderElection.enabled) -}}
{{- fail (printf "controller.replicas is %d but controller.leaderElection.enabled is false: more than one controller without leader election would reconcile the same pools concurrently; set controller.replicas to 1 or enable leader election" (int $c.replicas)) -}}
{{- end -}}
{{- $a := .Values.agent -}}
{{- if and (eq $a.advertise "device-plugin") (not $a.devicePluginDir) -}}
{{- fail "agent.advertise is device-plugin but agent.devicePluginDir is empty: the kubelet's device-plugin directory (usually /var/lib/kubelet/device-plugins) is required" -}}
{{- end -}}
{{- if and .Values.dra.kubeletPlugin (not .Values.dra.enabled) -}}
{{- fail "dra.kubeletPlugin is true but dra.enabled is false: without the node's ResourceSlices no claim is ever allocated to the plugin's devices; enable dra.enabled too" -}}
{{- end -}}
{{- $profiles := prepend $a.energyProfiles (merge (dict "name" "default") $a.energyProfile) -}}
{{- range $profiles -}}
{{- $ratio := .carbonFreeRatio | default 0 | float64 -}}
{{- if or (lt $ratio 0.0) (gt $ratio 1.0) -}}
{{- fail (printf "energy profile %q: carbonFreeRatio %v is outside 0..1 (1 means zero-carbon)" .name .carbonFreeRatio) -}}
{{- end -}}
{{- $intensity := .carbonIntensity | default 0 | float64 -}}
{{- if or (lt $intensity 0.0) (gt $intensity 2000.0) -}}
{{- fail (printf "energy profile %q: carbonIntensity %v is outside 0..2000 gCO2e/kWh" .name .carbonIntensity) -}}
{{- end -}}
{{- if and (ge $ratio 1.0) (gt $intensity 0.0) -}}
{{- fail (printf "energy profile %q: carbonFreeRatio is 1 (zero-carbon) but carbonIntensity is %v; a zero-carbon supply has intensity 0" .name .carbonIntensity) -}}
{{- end -}}
{{- end -}}
{{- $key := "" -}}
{{- $seen := dict -}}
{{- range $a.energyProfiles -}}
{{- $profileName := .name -}}
{{- if ne (len .nodeSelector) 1 -}}
{{- fail (printf "agent.energyProfiles %q: nodeSelector must have exactly one label, so every node matches at most one profile" .name) -}}
{{- end -}}
{{- range $k, $v := .nodeSelector -}}
{{- if and $key (ne $k $key) -}}
{{- fail (printf "agent.energyProfiles %q: nodeSelector uses label %q but another profile uses %q; every profile must select on the same label key, so a node cannot match two profiles" $profileName $k $key) -}}
{{- end -}}
{{- $key = $k -}}
{{- if hasKey $seen (toString $v) -}}
{{- fail (printf "agent.energyProfiles: two profiles select %s=%s; each node must match at most one profile" $k $v) -}}
{{- end -}}
{{- $_ := set $seen (toString $v) true -}}
{{- end -}}
{{- end -}}
{{- if and .Values.monitoring.prometheusRule.enabled (not .Values.monitoring.serviceMonitor.enabled) -}}
{{- fail "monitoring.prometheusRule.enabled is true but monitoring.serviceMonitor.enabled is false: the alerts would fire AgentDown for every agent because nothing scrapes them; enable monitoring.serviceMonitor too" -}}
{{- end -}}
{{- end -}}
