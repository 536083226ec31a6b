#include "kube/informer.h"

#include <unordered_set>
#include <utility>

#include "common/log.h"
#include "common/strings.h"
#include "common/thread_guard.h"
#include "kube/clock_wait.h"

namespace zhisuan::kube {
namespace {

std::string ResourceVersionOf(const Json& object) {
  return object.value("/metadata/resourceVersion"_json_pointer, std::string());
}

// A watch that ends cleanly this soon without delivering anything is treated as a failure, so a
// server that closes every watch at once does not get a tight reconnect loop (client-go does the
// same).
constexpr std::chrono::seconds kShortestHealthyWatch{1};

}  // namespace

Informer::Informer(ApiClientPtr client, InformerOptions options, ClockPtr clock)
    : client_(std::move(client)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      backoff_(options_.reconnect_backoff, options_.seed),
      random_(options_.seed ^ 0x9e3779b97f4a7c15ULL) {}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandlers(ResourceEventHandlers handlers) {
  handlers_.push_back(std::move(handlers));
}

void Informer::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread(
      [this] { RunGuarded(StrCat("informer ", options_.type.resource), [this] { Run(); }); });
}

void Informer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (current_watch_ != nullptr) current_watch_->Cancel();
    changed_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Informer::Stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return synced_.load(); });
}

std::string Informer::LastResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

void Informer::SetResourceVersion(std::string version) {
  if (version.empty()) return;
  std::lock_guard lock(mu_);
  resource_version_ = std::move(version);
}

bool Informer::BackoffWait() {
  const std::chrono::milliseconds delay = backoff_.Next();
  std::unique_lock lock(mu_);
  return !WaitUntilOnClock(changed_, lock, *clock_, clock_->Now() + delay, options_.clock_poll,
                           [&] { return stopping_; });
}

std::chrono::seconds Informer::RandomWatchTimeout() {
  const int64_t low = options_.min_watch_timeout.count();
  const int64_t high = std::max(low, options_.max_watch_timeout.count());
  return std::chrono::seconds(std::uniform_int_distribution<int64_t>(low, high)(random_));
}

void Informer::Run() {
  bool listed_once = false;
  bool need_list = true;
  while (!Stopping()) {
    if (need_list) {
      const Status listed = ListAndSync(/*relist=*/listed_once);
      if (!listed.ok()) {
        metrics_.failures_++;
        ZLOG(Warning) << "informer " << options_.type.resource << ": list failed: " << listed;
        if (!BackoffWait()) return;
        continue;
      }
      listed_once = true;
      need_list = false;
      backoff_.Reset();
    }
    switch (WatchOnce()) {
      case WatchOutcome::kStopped:
        return;
      case WatchOutcome::kResume:
        break;
      case WatchOutcome::kBackoffThenResume:
        metrics_.failures_++;
        if (!BackoffWait()) return;
        break;
      case WatchOutcome::kRelist:
        metrics_.failures_++;
        ZLOG(Info) << "informer " << options_.type.resource
                   << ": resourceVersion expired (410), relisting";
        need_list = true;
        break;
    }
  }
}

Status Informer::ListAndSync(bool relist) {
  if (relist) metrics_.relists_++;
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.limit = options_.page_size;
  {
    std::lock_guard lock(mu_);
    // The first list reads the latest version (""), not client-go's "0" (any version): the API
    // server answers "0" from its watch cache and ignores `limit` there (v1.34 still does), so
    // the whole collection came back as one response. At 5,000 Nodes and ComputeNodes that
    // response, parsed, was the controller's memory high-water mark (bench/fleet: 438 MiB, with
    // 130 MiB once settled). An unpaged informer (page_size 0) keeps the cheap "0".
    // A relist must not go back in time ("not older than" what we saw), unless that version is
    // gone, then it reads the latest.
    if (!relist) {
      options.resource_version = options_.page_size > 0 ? "" : "0";
    } else if (!last_version_unavailable_) {
      options.resource_version = resource_version_;
      options.resource_version_match = resource_version_.empty() ? "" : "NotOlderThan";
    }
  }
  // Each page is applied as it arrives and only its keys are kept, so a list holds one page at a
  // time, not the whole collection. Objects not listed are deleted after the last page (the order
  // client-go's Replace uses too). A list that fails part way has applied only objects at least
  // as new as the cache's and deleted nothing; the retry finishes the job.
  std::unordered_set<std::string> listed_keys;
  std::string list_version;
  while (true) {
    metrics_.lists_++;
    StatusOr<ObjectList> page = client_->List(options_.type, options_.ns, options);
    if (!page.ok()) {
      if (IsGone(page.status())) {
        std::lock_guard lock(mu_);
        last_version_unavailable_ = true;
      }
      return page.status();
    }
    if (list_version.empty()) list_version = page->resource_version;
    for (Json& item : page->items) {
      // Lists omit kind and apiVersion on items; handlers get complete objects either way.
      if (!item.contains("kind")) item["kind"] = options_.type.kind;
      if (!item.contains("apiVersion")) item["apiVersion"] = options_.type.ApiVersion();
      listed_keys.insert(ObjectKey(item));
      ApplyUpsert(std::move(item));
    }
    if (page->continue_token.empty()) break;
    // Later pages are pinned by the continue token, which carries the list's version.
    options.continue_token = page->continue_token;
    options.resource_version.clear();
    options.resource_version_match.clear();
  }
  {
    std::lock_guard lock(mu_);
    last_version_unavailable_ = false;
  }
  // Whatever the cache holds that the server no longer has went away while we were not watching.
  // Handlers get the last state we knew.
  for (const std::string& key : store_.ListKeys()) {
    if (listed_keys.count(key)) continue;
    ObjectPtr gone = store_.Remove(key);
    if (!gone) continue;
    for (const auto& handlers : handlers_) {
      if (handlers.on_delete) handlers.on_delete(gone);
    }
  }
  SetResourceVersion(list_version);
  if (!synced_.exchange(true)) {
    std::lock_guard lock(mu_);
    changed_.notify_all();
  }
  return OkStatus();
}

Informer::WatchOutcome Informer::WatchOnce() {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.resource_version = LastResourceVersion();
  options.allow_watch_bookmarks = true;
  options.timeout_seconds = RandomWatchTimeout().count();
  metrics_.watches_++;
  const SteadyTime opened_at = clock_->Now();
  StatusOr<WatchStreamPtr> opened = client_->Watch(options_.type, options_.ns, options);
  if (!opened.ok()) {
    if (Stopping()) return WatchOutcome::kStopped;
    if (IsGone(opened.status())) return WatchOutcome::kRelist;
    ZLOG(Warning) << "informer " << options_.type.resource << ": watch failed: " << opened.status();
    return WatchOutcome::kBackoffThenResume;
  }
  WatchStreamPtr stream = std::move(opened).value();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return WatchOutcome::kStopped;
    current_watch_ = stream.get();
  }
  // Stop() cancels through current_watch_, so clear it before the stream is destroyed.
  struct ClearCurrent {
    Informer* informer;
    ~ClearCurrent() {
      std::lock_guard lock(informer->mu_);
      informer->current_watch_ = nullptr;
    }
  } clear_current{this};

  bool delivered = false;
  while (true) {
    StatusOr<std::optional<WatchEvent>> next = stream->Next();
    if (!next.ok()) {
      if (Stopping()) return WatchOutcome::kStopped;
      ZLOG(Warning) << "informer " << options_.type.resource << ": watch broke: " << next.status();
      return WatchOutcome::kBackoffThenResume;
    }
    if (!next->has_value()) {
      if (Stopping()) return WatchOutcome::kStopped;
      if (!delivered && clock_->Now() - opened_at < kShortestHealthyWatch) {
        return WatchOutcome::kBackoffThenResume;
      }
      return WatchOutcome::kResume;
    }
    const WatchEvent& event = **next;
    delivered = true;
    switch (event.type) {
      case WatchEvent::Type::kError: {
        const int64_t code = event.object.value("code", int64_t{0});
        if (code == 410) return WatchOutcome::kRelist;
        ZLOG(Warning) << "informer " << options_.type.resource
                      << ": watch error event: " << event.object.value("message", std::string());
        return WatchOutcome::kBackoffThenResume;
      }
      case WatchEvent::Type::kBookmark:
        metrics_.bookmarks_++;
        SetResourceVersion(ResourceVersionOf(event.object));
        break;
      case WatchEvent::Type::kAdded:
      case WatchEvent::Type::kModified:
        metrics_.events_++;
        ApplyUpsert(event.object);
        SetResourceVersion(ResourceVersionOf(event.object));
        break;
      case WatchEvent::Type::kDeleted:
        metrics_.events_++;
        ApplyDelete(event.object);
        SetResourceVersion(ResourceVersionOf(event.object));
        break;
    }
    backoff_.Reset();
  }
}

void Informer::ApplyUpsert(Json object) {
  if (options_.drop_managed_fields && object.is_object()) {
    auto metadata = object.find("metadata");
    if (metadata != object.end() && metadata->is_object()) metadata->erase("managedFields");
  }
  const std::string key = ObjectKey(object);
  ObjectPtr known = store_.Get(key);
  // Same resourceVersion: nothing changed (a relist re-reading an object, or a replayed event).
  if (known && ResourceVersionOf(*known) == ResourceVersionOf(object)) return;
  auto fresh = std::make_shared<const Json>(std::move(object));
  ObjectPtr old_object = store_.Upsert(
      options_.project_for_store ? std::make_shared<const Json>(options_.project_for_store(*fresh))
                                 : fresh);
  for (const auto& handlers : handlers_) {
    if (old_object) {
      if (handlers.on_update) handlers.on_update(old_object, fresh);
    } else if (handlers.on_add) {
      handlers.on_add(fresh);
    }
  }
}

void Informer::ApplyDelete(const Json& object) {
  ObjectPtr old_object = store_.Remove(ObjectKey(object));
  // Never seen (e.g. created and deleted between list and watch replay): nothing to retract.
  if (!old_object) return;
  auto final_state = std::make_shared<const Json>(object);
  for (const auto& handlers : handlers_) {
    if (handlers.on_delete) handlers.on_delete(final_state);
  }
}

}  // namespace zhisuan::kube
