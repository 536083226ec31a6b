#pragma once
// The agent's modes, each wired from an AgentConfig: the long-running agent, and the one-shot
// FLOPS measurement. main.cc only parses flags and picks one.

#include <string>

#include "agent/config/agent_config.h"

namespace zhisuan::agent {

struct KubernetesOptions;
namespace dra {
struct KubeletPluginOptions;
}

// Runs until SIGTERM or SIGINT; SIGUSR1 re-runs the FLOPS probes. Returns the process exit code.
// The caller must have blocked those signals in every thread (BlockAgentSignals) before any
// thread starts, so that only this function's sigwait sees them.
// `kubernetes` decides whether the agent also publishes to Kubernetes and serves the kubelet;
// `dra` whether it also serves the kubelet as the DRA driver's plugin.
int RunAgent(const AgentConfig& config, const KubernetesOptions& kubernetes,
             const dra::KubeletPluginOptions& dra);
void BlockAgentSignals();

// --measure-flops-once: runs the CPU and CUDA probes on this host and returns a JSON report with
// measured FLOPS, peak FLOPS and their ratio per device. Devices go through the same ProbeGate as
// the running agent's (busy, allocated to a pod, allocation unknown in device-plugin mode), so
// `kubernetes` matters here too: --advertise=node-status or --kubernetes=false on a host without a
// kubelet, where no pod can hold a device.
std::string MeasureFlopsOnceJson(const AgentConfig& config, const KubernetesOptions& kubernetes);

}  // namespace zhisuan::agent
