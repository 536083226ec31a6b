// One candidate in the two-process leader-election test: runs a LeaderElector against the real API
// server and appends what it believes to a log, one line each, stamped with CLOCK_MONOTONIC (shared
// by every process on the machine, so two logs can be compared):
//   <ns> started | stopped | new-leader <id> | leader (every 50ms while IsLeader()) | exited
// SIGTERM stops it gracefully (releasing the Lease); the test kills it with SIGKILL to simulate a
// crash.
//
//   kube_lease_contender KUBECONFIG IDENTITY LOG_FILE

#include <csignal>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "kube/config.h"
#include "kube/leader_election.h"
#include "kube/rest_client.h"

namespace {

volatile std::sig_atomic_t terminate_requested = 0;

void OnTerminate(int) { terminate_requested = 1; }

class LineLog {
 public:
  explicit LineLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {}
  ~LineLog() {
    if (file_ != nullptr) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  void Write(const std::string& what) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const long long nanos = static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
    std::lock_guard lock(mu_);
    std::fprintf(file_, "%lld %s\n", nanos, what.c_str());
    std::fflush(file_);
  }

 private:
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s KUBECONFIG IDENTITY LOG_FILE\n", argv[0]);
    return 2;
  }
  LineLog log(argv[3]);
  if (!log.ok()) return 2;
  std::signal(SIGTERM, OnTerminate);

  auto config = zhisuan::kube::LoadKubeconfig(argv[1]);
  if (!config.ok()) {
    std::fprintf(stderr, "kubeconfig: %s\n", config.status().ToString().c_str());
    return 1;
  }
  auto client = zhisuan::kube::NewRestClient(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 1;
  }
  zhisuan::kube::LeaderElectionConfig election;
  election.lease_namespace = "default";
  election.lease_name = "contended";
  election.identity = argv[2];
  election.lease_duration = 3s;
  election.renew_deadline = 2s;
  election.retry_period = 500ms;
  election.acquire_jitter = 0.2;
  election.clock_poll = 50ms;
  auto elector = zhisuan::kube::LeaderElector::Create(
      *client, election,
      {[&] { log.Write("started"); }, [&] { log.Write("stopped"); },
       [&](const std::string& leader) { log.Write("new-leader " + leader); }});
  if (!elector.ok()) {
    std::fprintf(stderr, "elector: %s\n", elector.status().ToString().c_str());
    return 1;
  }
  (*elector)->Start();
  while (!terminate_requested) {
    if ((*elector)->IsLeader()) log.Write("leader");
    std::this_thread::sleep_for(50ms);
  }
  (*elector)->Stop();
  log.Write("exited");
  return 0;
}
