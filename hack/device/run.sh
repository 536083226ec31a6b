#!/bin/bash
# One device call: what the agent finds on a real H100, its metrics, and measured FLOPS.
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=$PWD/lib
{
  echo "== uname"; uname -a; cat /etc/os-release | head -2
  echo "== nvidia-smi"; nvidia-smi --query-gpu=name,pci.bus_id,uuid,memory.total,clocks.max.sm,power.limit,driver_version,numa --format=csv 2>&1 || nvidia-smi --query-gpu=name,pci.bus_id,uuid,memory.total,clocks.max.sm,power.limit,driver_version --format=csv
  echo "== libraries"; ldconfig -p | grep -E "libnvidia-ml|libcuda\.so" 
  echo "== lscpu"; lscpu | grep -E "Model name|^CPU\(s\)|Socket|Core|Thread|NUMA node\(s\)|Flags" | cut -c1-300
  echo "== agent version"; ./zhisuan-agent --version
} > $OUT/environment.txt 2>&1
timeout 180 ./zhisuan-agent --kubernetes=false --measure-flops-once > $OUT/flops.json 2> $OUT/flops.log
echo "flops exit $?" >> $OUT/flops.log
./zhisuan-agent --kubernetes=false --listen-address=127.0.0.1:9400 --node-name=h100-validation --sample-interval=2s > $OUT/agent.log 2>&1 &
pid=$!
for i in $(seq 1 60); do sleep 1; curl -sf 127.0.0.1:9400/readyz >/dev/null 2>&1 && break; done
sleep 5
curl -s 127.0.0.1:9400/metrics > $OUT/metrics.txt
curl -s -o /dev/null -w '%{http_code}\n' 127.0.0.1:9400/readyz >> $OUT/agent.log
for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null -w '%{time_total}\n' 127.0.0.1:9400/metrics; done > $OUT/scrape-times.txt
ps -o rss=,pcpu= -p $pid >> $OUT/agent.log
kill -TERM $pid; wait $pid; echo "agent exit $?" >> $OUT/agent.log
# Health: the agent is left idle for a while so its start-up probe (skipped while the GPU was
# still busy from the one-shot probe above) can be compared; then a second scrape.
./zhisuan-agent --kubernetes=false --listen-address=127.0.0.1:9401 --node-name=h100-validation --sample-interval=1s --health-quiet-period=10s > $OUT/agent2.log 2>&1 &
pid=$!
sleep 12
curl -s -X POST 127.0.0.1:9401/flops/measure >> $OUT/agent2.log; sleep 4
curl -s 127.0.0.1:9401/metrics > $OUT/metrics2.txt
kill -TERM $pid; wait $pid; echo "agent2 exit $?" >> $OUT/agent2.log
