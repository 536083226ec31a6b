// DiscoverCpu: /proc/cpuinfo for the model and topology, cpufreq for the rated maximum clock
// (cpuinfo's "cpu MHz" is the current clock, which idles low), the node directories for NUMA.

#include "agent/discovery/cpu/cpu_parsers.h"
#include "agent/discovery/discovery.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent {
namespace {

// Names like "cpu12" or "node3": the prefix followed by digits only.
bool IsNumberedEntry(std::string_view name, std::string_view prefix) {
  if (!StartsWith(name, prefix) || name.size() == prefix.size()) return false;
  return ParseUint64(name.substr(prefix.size())).has_value();
}

}  // namespace

StatusOr<CpuInfo> DiscoverCpu(const FileReader& sysfs, const FileReader& procfs) {
  ZHISUAN_ASSIGN_OR_RETURN(std::string cpuinfo_text, procfs.Read("/cpuinfo"));
  StatusOr<CpuInfo> parsed = cpu::ParseCpuInfo(cpuinfo_text);
  if (!parsed.ok()) return parsed.status().Annotate("/proc/cpuinfo");
  CpuInfo info = *std::move(parsed);

  double cpufreq_max_mhz = 0;
  if (auto cpus = sysfs.List("/devices/system/cpu"); cpus.ok()) {
    for (const std::string& name : *cpus) {
      if (!IsNumberedEntry(name, "cpu")) continue;
      auto text = sysfs.Read(StrCat("/devices/system/cpu/", name, "/cpufreq/cpuinfo_max_freq"));
      if (!text.ok()) continue;  // no cpufreq driver (VMs): fall back to cpuinfo
      auto mhz = cpu::ParseCpuFreqKhzAsMhz(*text);
      if (!mhz.ok()) {
        ZLOG(Warning) << "CPU " << name << ": ignoring max frequency: " << mhz.status();
        continue;
      }
      cpufreq_max_mhz = std::max(cpufreq_max_mhz, *mhz);
    }
  }
  if (cpufreq_max_mhz > 0) info.max_mhz = cpufreq_max_mhz;

  auto nodes = sysfs.List("/devices/system/node");
  if (nodes.ok()) {
    for (const std::string& name : *nodes) {
      if (IsNumberedEntry(name, "node")) ++info.numa_nodes;
    }
  }
  if (info.numa_nodes == 0) {
    // Kernels built without NUMA have no node directory: all memory is one node.
    ZLOG_V(1) << "no NUMA nodes in sysfs; assuming one";
    info.numa_nodes = 1;
  }
  return info;
}

}  // namespace zhisuan::agent
