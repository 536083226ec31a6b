{{- /*
/metrics, /healthz and /readyz of the agent and the controller (one HTTP server in both binaries):
HTTPS from a Secret and token reviews for /metrics (values: metrics.*; docs/security.md).
*/ -}}

{{- /* The flags, after checking the values. */ -}}
{{- define "zhisuan.metricsArgs" -}}
{{- $m := .Values.metrics -}}
{{- if and $m.tls.enabled (not $m.tls.secretName) -}}
{{- fail "metrics.tls.enabled is true but metrics.tls.secretName is empty: name a kubernetes.io/tls Secret" -}}
{{- end -}}
{{- if and $m.tls.clientCaKey (not $m.tls.enabled) -}}
{{- fail "metrics.tls.clientCaKey is set but metrics.tls.enabled is false" -}}
{{- end -}}
{{- if $m.tls.enabled }}
- --metrics-tls-cert-file=/etc/zhisuan/metrics-tls/tls.crt
- --metrics-tls-key-file=/etc/zhisuan/metrics-tls/tls.key
{{- with $m.tls.clientCaKey }}
- --metrics-client-ca-file=/etc/zhisuan/metrics-tls/{{ . }}
{{- end }}
{{- end }}
- --metrics-auth={{ $m.auth }}
{{- end -}}

{{- /* The probes' scheme: the kubelet does not verify a probe's certificate, nor send a token. */ -}}
{{- define "zhisuan.metricsScheme" -}}
{{ ternary "HTTPS" "HTTP" .Values.metrics.tls.enabled }}
{{- end -}}

{{- /* The Secret as a directory (not subPath), so a rotated certificate reaches the pod and the
binary re-reads it. */ -}}
{{- define "zhisuan.metricsTlsVolumeMount" -}}
{{- if .Values.metrics.tls.enabled }}
- name: metrics-tls
  mountPath: /etc/zhisuan/metrics-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "zhisuan.metricsTlsVolume" -}}
{{- if .Values.metrics.tls.enabled }}
- name: metrics-tls
  secret:
    secretName: {{ .Values.metrics.tls.secretName }}
{{- end }}
{{- end -}}
