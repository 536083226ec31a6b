#!/usr/bin/env bash
# Agent benchmarks, each side by side with Debian's prometheus-node-exporter in the same run:
#   1. /metrics latency p50/p99 with 8 and 64 devices (agent_scrape_latency_bench; node_exporter
#      scraped by the same client loop right after);
#   2. RSS and CPU share over 60 s at the default 5 s sampling interval: zhisuan-agent on the
#      h100-8x fixture with the fake NVML, node_exporter with its default collectors, both scraped
#      every 15 s;
#   3. the CPU FLOPS probe's measured/peak ratio (zhisuan-agent --measure-flops-once), with a
#      verdict: met (>= 0.85), not_met, or peak_suspect (> 1.05: the peak is wrong, nothing met).
# Usage: bench/agent/run.sh [BUILD_DIR] [RUNS]     (needs prometheus-node-exporter installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
RUNS=${2:-3}
NE_PORT=${NE_PORT:-19100}
AGENT_PORT=${AGENT_PORT:-19400}
FIXTURE=tests/fixtures/sysfs/h100-8x
TCK=$(getconf CLK_TCK)

prometheus-node-exporter --web.listen-address=127.0.0.1:${NE_PORT} >/dev/null 2>&1 &
NE_PID=$!
trap 'kill ${NE_PID} 2>/dev/null || true; [[ -n "${AGENT_PID:-}" ]] && kill ${AGENT_PID} 2>/dev/null || true' EXIT
sleep 1

echo "## latency"
for run in $(seq "${RUNS}"); do
  for devices in 8 64; do
    echo "run=${run} $("${BUILD}/bench/agent/agent_scrape_latency_bench" --devices "${devices}" \
      --scrapes "${SCRAPES:-2000}" --node-exporter-port "${NE_PORT}" | tr '\n' ' ')"
  done
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo "## rss-cpu (60 s, default sampling interval, scraped every 15 s)"
for run in $(seq "${RUNS}"); do
  "${BUILD}/agent/zhisuan-agent" --kubernetes=false \
    --sysfs-root="${FIXTURE}/sys" --procfs-root="${FIXTURE}/proc" \
    --dev-root="${FIXTURE}/dev" --nvml-library="${BUILD}/fixtures/lib/nvml/libnvidia-ml.so.1" \
    --dcmi-library=/nonexistent/libdcmi.so --libcuda-library=/nonexistent/libcuda.so.1 \
    --measure-flops-at-startup=false --listen-address=127.0.0.1:${AGENT_PORT} 2>/dev/null &
  AGENT_PID=$!
  sleep 5
  a0=$(cpu_ticks ${AGENT_PID}); n0=$(cpu_ticks ${NE_PID}); t0=$(date +%s.%N)
  for i in 1 2 3 4; do
    curl -s -o /dev/null "http://127.0.0.1:${AGENT_PORT}/metrics"
    curl -s -o /dev/null "http://127.0.0.1:${NE_PORT}/metrics"
    sleep 15
  done
  a1=$(cpu_ticks ${AGENT_PID}); n1=$(cpu_ticks ${NE_PID}); t1=$(date +%s.%N)
  echo "run=${run} agent_cpu_pct=$(echo "scale=3; 100*(${a1}-${a0})/${TCK}/(${t1}-${t0})" | bc)" \
    "agent_rss_mib=$(echo "scale=1; $(rss_kib ${AGENT_PID})/1024" | bc)" \
    "node_exporter_cpu_pct=$(echo "scale=3; 100*(${n1}-${n0})/${TCK}/(${t1}-${t0})" | bc)" \
    "node_exporter_rss_mib=$(echo "scale=1; $(rss_kib ${NE_PID})/1024" | bc)"
  kill ${AGENT_PID}; wait ${AGENT_PID} 2>/dev/null || true; AGENT_PID=
done

echo "## cpu-flops-probe"
for run in $(seq "${RUNS}"); do
  "${BUILD}/agent/zhisuan-agent" --measure-flops-once --libcuda-library=/nonexistent/libcuda.so.1 \
    2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
m = [x for x in r["measurements"] if x["target"] == "cpu"][0]
ratio = m.get("measured_to_peak_ratio")
# Above 1.05 the peak is wrong (agent/flops/peak_flops_table.h, kSuspectPeakRatio): never "met".
verdict = ("no_peak" if ratio is None else "peak_suspect" if ratio > 1.05
           else "met" if ratio >= 0.85 else "not_met")
# The peak is at the clock the probe measured (clock_source=measured), else the nominal one.
print("run='"${run}"' kernel=%s threads=%s measured_gflops=%.1f clock_mhz=%.0f clock_source=%s peak_gflops=%.1f ratio=%s peak=%s source=%s verdict=%s" % (
    m["kernel"], m.get("threads"), m["measured_flops"] / 1e9, r["cpu"]["peak_clock_mhz"],
    r["cpu"]["peak_clock_source"], m["peak_flops"] / 1e9, ratio, m["peak_source"],
    m.get("source"), verdict))'
done
