#!/usr/bin/env bash
# Writes the CDI stand-ins a node in a box (hack/node.sh) needs for its fixture GPUs (the NVML
# stand-in): neither their device nodes nor NVIDIA's CDI spec exist on this host, and containerd 2
# resolves every CDI name a container asks for, failing the container on one it cannot. Both the
# device plugin's Allocate (nvidia.com/gpu=<uuid>) and the DRA plugin's answer name NVIDIA's.
#
#   hack/box-cdi.sh NODE_DIR HARDWARE_DIR NODE_NAME     (KUBECONFIG: the box's cluster)
#
# Needs the node's ComputeNode published (its GPUs' UUIDs and indices). Writes:
#   - HARDWARE_DIR/dev/<node> for each GPU's device nodes, character devices 1:3 (the numbers of
#     /dev/null), which the agent's CDI specs point at through --dra-dev-root=HARDWARE_DIR
#     (hack/box-values.sh);
#   - NODE_DIR/root/etc/cdi/nvidia-stand-in.json (the node's /etc/cdi): kind nvidia.com/gpu, one
#     device per UUID, which only sets ZHISUAN_BOX_NVIDIA_CDI_<index>=<uuid>.
# Both live in the box's own directories and go with them. Idempotent.
set -euo pipefail

(($# == 3)) || {
  echo "usage: box-cdi.sh NODE_DIR HARDWARE_DIR NODE_NAME" >&2
  exit 2
}
node_dir=$1 hardware_dir=$2 node=$3
kubectl="$("$(dirname "${BASH_SOURCE[0]}")/toolchain.sh" --print-bindir)/kubectl"

gpus=$("$kubectl" get computenode "$node" \
  -o jsonpath='{range .status.accelerators[*]}{.index} {.uuid}{"\n"}{end}')
[[ -n $gpus ]] || {
  echo "box-cdi.sh: ComputeNode $node lists no GPU" >&2
  exit 1
}
mkdir -p "$hardware_dir/dev" "$node_dir/root/etc/cdi"
for device_node in nvidiactl nvidia-uvm nvidia-uvm-tools $(awk '{print "nvidia" $1}' <<<"$gpus"); do
  [[ -e $hardware_dir/dev/$device_node ]] || mknod -m 0666 "$hardware_dir/dev/$device_node" c 1 3
done
python3 - "$node_dir/root/etc/cdi/nvidia-stand-in.json" "$gpus" <<'SPEC'
import json, os, sys
devices = []
for line in sys.argv[2].split("\n"):
    if line.strip():
        index, uuid = line.split()
        devices.append({"name": uuid,
                        "containerEdits": {"env": [f"ZHISUAN_BOX_NVIDIA_CDI_{index}={uuid}"]}})
spec = {"cdiVersion": "0.6.0", "kind": "nvidia.com/gpu", "devices": devices}
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(spec, f, indent=2)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
SPEC
