#include "kube/leader_election.h"

#include <ctime>

#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"
#include "kube/clock_wait.h"

namespace zhisuan::kube {

std::string FormatMicroTime(WallTime time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds);
  const std::time_t whole = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char buffer[40];
  const size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[32];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(micros.count()));
  return StrCat(std::string_view(buffer, length), fraction);
}

StatusOr<std::unique_ptr<LeaderElector>> LeaderElector::Create(ApiClientPtr client,
                                                               LeaderElectionConfig config,
                                                               LeaderCallbacks callbacks,
                                                               ClockPtr clock) {
  if (config.identity.empty()) return InvalidArgumentError("leader election: identity is empty");
  if (config.lease_name.empty() || config.lease_namespace.empty()) {
    return InvalidArgumentError("leader election: lease namespace and name are required");
  }
  if (config.lease_duration <= config.renew_deadline) {
    return InvalidArgumentError("leader election: lease_duration must exceed renew_deadline");
  }
  const auto longest_retry = std::chrono::duration<double, std::milli>(config.retry_period) *
                             (1.0 + std::max(0.0, config.acquire_jitter));
  if (std::chrono::duration<double, std::milli>(config.renew_deadline) <= longest_retry) {
    return InvalidArgumentError(
        "leader election: renew_deadline must exceed retry_period * (1 + acquire_jitter)");
  }
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(client), std::move(config),
                                                          std::move(callbacks), std::move(clock)));
}

LeaderElector::LeaderElector(ApiClientPtr client, LeaderElectionConfig config,
                             LeaderCallbacks callbacks, ClockPtr clock)
    : client_(std::move(client)),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      clock_(std::move(clock)),
      random_(std::random_device{}()) {}

LeaderElector::~LeaderElector() { Stop(); }

LeaderElector::LeaseRecord LeaderElector::ParseRecord(const Json& lease) {
  LeaseRecord record;
  const Json spec = lease.value("spec", Json::object());
  if (!spec.is_object()) return record;
  record.holder = spec.value("holderIdentity", std::string());
  record.lease_duration_seconds = spec.value("leaseDurationSeconds", int64_t{0});
  record.acquire_time = spec.value("acquireTime", std::string());
  record.renew_time = spec.value("renewTime", std::string());
  record.transitions = spec.value("leaseTransitions", int64_t{0});
  return record;
}

Json LeaderElector::RecordSpec(const LeaseRecord& record) {
  Json spec = {{"holderIdentity", record.holder},
               {"leaseDurationSeconds", record.lease_duration_seconds},
               {"leaseTransitions", record.transitions}};
  if (!record.acquire_time.empty()) spec["acquireTime"] = record.acquire_time;
  if (!record.renew_time.empty()) spec["renewTime"] = record.renew_time;
  return spec;
}

void LeaderElector::Observe(const LeaseRecord& record, SteadyTime now) {
  std::string new_leader;
  {
    std::lock_guard lock(mu_);
    if (record == observed_record_ && observed_time_ != SteadyTime{}) return;
    observed_record_ = record;
    observed_time_ = now;
    // A release clears the holder, so the next holder (even the same one) is reported again.
    if (record.holder.empty()) reported_leader_.clear();
    if (!record.holder.empty() && record.holder != reported_leader_) {
      reported_leader_ = record.holder;
      new_leader = record.holder;
    }
  }
  if (!new_leader.empty() && callbacks_.on_new_leader) callbacks_.on_new_leader(new_leader);
}

bool LeaderElector::TryAcquireOrRenew() {
  // Taken before the request: our lease is measured from no later than the server's write, so we
  // give it up no later than any other candidate could consider it expired.
  const SteadyTime attempt_start = clock_->Now();
  const std::string wall_now = FormatMicroTime(clock_->WallNow());
  const int64_t duration_seconds =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(config_.lease_duration).count());

  StatusOr<Json> current = client_->Get(kLeases, config_.lease_namespace, config_.lease_name);
  if (!current.ok()) {
    if (!IsNotFound(current.status())) {
      ZLOG(Warning) << "leader election: reading lease " << config_.lease_namespace << "/"
                    << config_.lease_name << " failed: " << current.status();
      return false;
    }
    LeaseRecord mine{config_.identity, duration_seconds, wall_now, wall_now, 0};
    Json lease = {
        {"apiVersion", kLeases.ApiVersion()},
        {"kind", kLeases.kind},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec", RecordSpec(mine)}};
    StatusOr<Json> created = client_->Create(kLeases, config_.lease_namespace, lease);
    if (!created.ok()) {
      if (!IsAlreadyExists(created.status())) {
        ZLOG(Warning) << "leader election: creating lease failed: " << created.status();
      }
      return false;
    }
    Observe(mine, clock_->Now());
    std::lock_guard lock(mu_);
    last_renew_ = attempt_start;
    return true;
  }

  const LeaseRecord record = ParseRecord(*current);
  // When we saw the record last change is what expiry counts from; the remote renewTime is not
  // trusted (the holder's clock may be skewed).
  Observe(record, clock_->Now());
  const bool held_by_me = record.holder == config_.identity;
  if (!record.holder.empty() && !held_by_me) {
    std::lock_guard lock(mu_);
    const auto declared =
        record.lease_duration_seconds > 0
            ? std::chrono::seconds(record.lease_duration_seconds)
            : std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration);
    if (observed_time_ + declared > clock_->Now()) return false;  // held and not expired
  }

  LeaseRecord mine = record;
  mine.holder = config_.identity;
  mine.lease_duration_seconds = duration_seconds;
  mine.renew_time = wall_now;
  if (!held_by_me) {
    mine.acquire_time = wall_now;
    mine.transitions = record.transitions + 1;
  }
  Json lease = *current;
  lease["spec"] = RecordSpec(mine);
  // `lease` still carries the resourceVersion we read: a competing write in between is a 409.
  StatusOr<Json> updated = client_->Update(kLeases, lease);
  if (!updated.ok()) {
    if (!IsConflict(updated.status())) {
      ZLOG(Warning) << "leader election: updating lease failed: " << updated.status();
    }
    return false;
  }
  Observe(mine, clock_->Now());
  std::lock_guard lock(mu_);
  last_renew_ = attempt_start;
  return true;
}

Status LeaderElector::Release() {
  ZHISUAN_ASSIGN_OR_RETURN(Json lease,
                           client_->Get(kLeases, config_.lease_namespace, config_.lease_name));
  LeaseRecord record = ParseRecord(lease);
  if (record.holder != config_.identity) return OkStatus();
  const std::string wall_now = FormatMicroTime(clock_->WallNow());
  LeaseRecord released{"", 1, wall_now, wall_now, record.transitions};
  lease["spec"] = RecordSpec(released);
  ZHISUAN_RETURN_IF_ERROR(client_->Update(kLeases, lease).status());
  Observe(released, clock_->Now());
  return OkStatus();
}

bool LeaderElector::WaitFor(std::chrono::nanoseconds delay) {
  std::unique_lock lock(mu_);
  return !WaitUntilOnClock(stop_cv_, lock, *clock_, clock_->Now() + delay, config_.clock_poll,
                           [&] { return stopping_; });
}

std::chrono::nanoseconds LeaderElector::JitteredRetry() {
  const double factor = 1.0 + std::max(0.0, config_.acquire_jitter) *
                                  std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::nano>(config_.retry_period) * factor);
}

void LeaderElector::SetLeading(bool leading) {
  {
    std::lock_guard lock(mu_);
    if (leading_ == leading) return;
    leading_ = leading;
  }
  ZLOG(Info) << "leader election: " << config_.identity
             << (leading ? " started leading " : " stopped leading ") << config_.lease_namespace
             << "/" << config_.lease_name;
  const auto& callback = leading ? callbacks_.on_started_leading : callbacks_.on_stopped_leading;
  if (callback) callback();
}

void LeaderElector::Run() {
  while (true) {
    // Contend until we hold the Lease.
    bool acquired = false;
    while (!acquired) {
      acquired = TryAcquireOrRenew();
      if (!acquired && !WaitFor(JitteredRetry())) break;
    }
    if (!acquired) break;
    SetLeading(true);
    // Renew every retry_period; give up once renew_deadline has passed since the last success.
    bool lost = false;
    while (WaitFor(config_.retry_period)) {
      while (!TryAcquireOrRenew()) {
        SteadyTime deadline;
        {
          std::lock_guard lock(mu_);
          deadline = last_renew_ + config_.renew_deadline;
        }
        const SteadyTime now = clock_->Now();
        if (now >= deadline) {
          lost = true;
          break;
        }
        if (!WaitFor(std::min<std::chrono::nanoseconds>(config_.retry_period, deadline - now))) {
          break;
        }
      }
      if (lost) break;
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!lost) break;  // stopping
    ZLOG(Warning) << "leader election: " << config_.identity << " could not renew within "
                  << config_.renew_deadline.count() << "ms";
    SetLeading(false);
  }
  bool was_leading;
  {
    std::lock_guard lock(mu_);
    was_leading = leading_;
  }
  if (was_leading && config_.release_on_stop) {
    if (Status released = Release(); !released.ok()) {
      ZLOG(Warning) << "leader election: releasing the lease failed: " << released;
    }
  }
  SetLeading(false);
}

void LeaderElector::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { RunGuarded("leader-election", [this] { Run(); }); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    stop_cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool LeaderElector::IsLeader() const {
  std::lock_guard lock(mu_);
  // A Lease seen held by someone else (taken over, or released) ends our leadership at once,
  // before the renew deadline runs out: client-go's IsLeader reads the observed holder likewise.
  return leading_ && observed_record_.holder == config_.identity &&
         clock_->Now() - last_renew_ < config_.renew_deadline;
}

std::string LeaderElector::ObservedLeader() const {
  std::lock_guard lock(mu_);
  return observed_record_.holder;
}

}  // namespace zhisuan::kube
