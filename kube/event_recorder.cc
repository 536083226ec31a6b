#include "kube/event_recorder.h"

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"

namespace zhisuan::kube {
namespace {

// core/v1 Event timestamps (firstTimestamp, lastTimestamp) are metav1.Time: whole seconds.
std::string FormatRfc3339(WallTime time) {
  const std::time_t whole = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char buffer[32];
  const size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(buffer, length);
}

// The API server rejects very long messages on some paths; client-go truncates at 1 KiB too.
constexpr size_t kMaxMessageBytes = 1024;

std::string ObjectIdentity(const ObjectReference& object) {
  return StrCat(object.kind, "/", object.ns, "/", object.name, "/", object.uid);
}

}  // namespace

ObjectReference ReferenceTo(const Json& object) {
  return {object.value("apiVersion", std::string()), object.value("kind", std::string()),
          object.value("/metadata/namespace"_json_pointer, std::string()),
          object.value("/metadata/name"_json_pointer, std::string()),
          object.value("/metadata/uid"_json_pointer, std::string())};
}

EventRecorder::EventRecorder(ApiClientPtr client, std::string component, std::string host,
                             EventRecorderOptions options, ClockPtr clock)
    : client_(std::move(client)),
      component_(std::move(component)),
      host_(std::move(host)),
      options_(options),
      clock_(std::move(clock)) {
  worker_ = std::thread([this] { RunGuarded("event-recorder", [this] { Work(); }); });
}

EventRecorder::~EventRecorder() { Stop(); }

bool EventRecorder::TakeToken(const std::string& object_key, SteadyTime now) {
  auto [it, inserted] =
      buckets_.try_emplace(object_key, Bucket{static_cast<double>(options_.per_object_burst), now});
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min<double>(
      options_.per_object_burst, bucket.tokens + std::max(0.0, elapsed) * options_.per_object_qps);
  bucket.updated = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  // Forget full buckets once the map gets large: a full bucket is what a new entry starts with.
  if (buckets_.size() > 4 * options_.max_aggregation_entries) {
    std::erase_if(buckets_, [&](const auto& entry) {
      return entry.second.tokens >= options_.per_object_burst - 1;
    });
  }
  return true;
}

void EventRecorder::Record(const ObjectReference& object, EventType type, std::string_view reason,
                           std::string_view message) {
  const SteadyTime now = clock_->Now();
  std::lock_guard lock(mu_);
  if (stopping_ || pending_.size() >= options_.max_pending ||
      !TakeToken(ObjectIdentity(object), now)) {
    ++dropped_;
    return;
  }
  pending_.push_back(Pending{object, type, std::string(reason),
                             std::string(message.substr(0, kMaxMessageBytes)), clock_->WallNow(),
                             now});
  work_cv_.notify_one();
}

void EventRecorder::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // stopping, and everything queued is written
    Pending next = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    lock.unlock();
    Write(next);
    lock.lock();
    writing_ = false;
    if (pending_.empty()) idle_cv_.notify_all();
  }
  worker_done_ = true;
  idle_cv_.notify_all();
}

void EventRecorder::Write(const Pending& pending) {
  const std::string type = pending.type == EventType::kWarning ? "Warning" : "Normal";
  const std::string key =
      StrCat(ObjectIdentity(pending.object), "|", type, "|", pending.reason, "|", pending.message);
  const std::string timestamp = FormatRfc3339(pending.wall_time);

  auto found = aggregates_.find(key);
  if (found != aggregates_.end() &&
      pending.time - found->second.last_seen < options_.aggregation_window) {
    Aggregate& aggregate = found->second;
    const Json patch = {{"count", aggregate.count + 1}, {"lastTimestamp", timestamp}};
    StatusOr<Json> patched =
        client_->Patch(kEvents, aggregate.ns, aggregate.name, PatchType::kMerge, patch);
    if (patched.ok()) {
      ++aggregate.count;
      aggregate.last_seen = pending.time;
      recency_.splice(recency_.begin(), recency_, aggregate.recency);
      std::lock_guard lock(mu_);
      ++patched_;
      return;
    }
    if (!IsNotFound(patched.status())) {
      ZLOG(Warning) << "event " << pending.reason << " on " << pending.object.kind << " "
                    << pending.object.name << ": patch failed: " << patched.status();
      std::lock_guard lock(mu_);
      ++failed_;
      return;
    }
    // The Event expired (the API server keeps them an hour): start a new one.
    recency_.erase(aggregate.recency);
    aggregates_.erase(found);
  }

  const std::string ns = pending.object.ns.empty() ? "default" : pending.object.ns;
  std::string name;
  {
    std::lock_guard lock(mu_);
    // Like client-go: object name + a timestamp in hex, unique per recorder by a sequence number.
    const auto nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(pending.wall_time.time_since_epoch())
            .count();
    char hex[24];
    std::snprintf(
        hex, sizeof hex, "%llx",
        static_cast<unsigned long long>(nanos) + static_cast<unsigned long long>(name_sequence_++));
    name = StrCat(pending.object.name, ".", hex);
  }
  Json involved = {{"apiVersion", pending.object.api_version},
                   {"kind", pending.object.kind},
                   {"name", pending.object.name}};
  if (!pending.object.ns.empty()) involved["namespace"] = pending.object.ns;
  if (!pending.object.uid.empty()) involved["uid"] = pending.object.uid;
  const Json event = {{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"name", name}, {"namespace", ns}}},
                      {"involvedObject", involved},
                      {"reason", pending.reason},
                      {"message", pending.message},
                      {"type", type},
                      {"count", 1},
                      {"firstTimestamp", timestamp},
                      {"lastTimestamp", timestamp},
                      {"source", {{"component", component_}, {"host", host_}}},
                      {"reportingComponent", component_},
                      {"reportingInstance", host_}};
  StatusOr<Json> created = client_->Create(kEvents, ns, event);
  if (!created.ok()) {
    ZLOG(Warning) << "event " << pending.reason << " on " << pending.object.kind << " "
                  << pending.object.name << ": create failed: " << created.status();
    std::lock_guard lock(mu_);
    ++failed_;
    return;
  }
  recency_.push_front(key);
  aggregates_[key] = Aggregate{ns, name, 1, pending.time, timestamp, recency_.begin()};
  while (aggregates_.size() > options_.max_aggregation_entries) {
    aggregates_.erase(recency_.back());
    recency_.pop_back();
  }
  std::lock_guard lock(mu_);
  ++created_;
}

void EventRecorder::Flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return (pending_.empty() && !writing_) || worker_done_; });
}

void EventRecorder::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    work_cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

uint64_t EventRecorder::created() const {
  std::lock_guard lock(mu_);
  return created_;
}
uint64_t EventRecorder::patched() const {
  std::lock_guard lock(mu_);
  return patched_;
}
uint64_t EventRecorder::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}
uint64_t EventRecorder::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace zhisuan::kube
