#include "tests/unit/kube/fake_api_client.h"

#include <algorithm>
#include <utility>

#include "api/group_version.h"
#include "common/strings.h"
#include "kube/store.h"

namespace zhisuan::kube {
namespace {

constexpr char kFakeTimestamp[] = "2027-01-15T08:00:00Z";

std::string KeyFor(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : StrCat(ns, "/", name);
}

std::string ObjectNamespace(const Json& object) {
  return object.value("/metadata/namespace"_json_pointer, std::string());
}

std::string ObjectName(const Json& object) {
  return object.value("/metadata/name"_json_pointer, std::string());
}

std::string ObjectResourceVersion(const Json& object) {
  return object.value("/metadata/resourceVersion"_json_pointer, std::string());
}

Json GoneStatus(std::string message) {
  return Json{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", "Expired"},
              {"code", 410}};
}

// A dotted field path ("metadata.name", "spec.nodeName") rendered as the API server compares it.
std::string FieldValue(const Json& object, std::string_view path) {
  const Json* current = &object;
  for (std::string_view part : StrSplit(path, '.')) {
    if (!current->is_object()) return "";
    auto it = current->find(std::string(part));
    if (it == current->end()) return "";
    current = &*it;
  }
  if (current->is_string()) return current->get<std::string>();
  if (current->is_null()) return "";
  return current->dump();
}

bool MatchesFieldSelector(const Json& object, std::string_view selector) {
  for (std::string_view term : StrSplit(selector, ',')) {
    term = StripWhitespace(term);
    if (term.empty()) continue;
    bool negate = false;
    size_t split = term.find("!=");
    size_t value_at = split + 2;
    if (split != std::string_view::npos) {
      negate = true;
    } else if ((split = term.find("==")) != std::string_view::npos) {
      value_at = split + 2;
    } else {
      split = term.find('=');
      if (split == std::string_view::npos) return false;
      value_at = split + 1;
    }
    const bool equal = FieldValue(object, term.substr(0, split)) == term.substr(value_at);
    if (equal == negate) return false;
  }
  return true;
}

// The object without metadata and status: what a generation bump is about.
Json SpecPart(const Json& object) {
  Json copy = object;
  if (copy.is_object()) {
    copy.erase("metadata");
    copy.erase("status");
  }
  return copy;
}

}  // namespace

std::string ResourceName(const ResourceType& type) {
  return type.group.empty() ? type.resource : StrCat(type.resource, ".", type.group);
}

bool MatchesLabelSelector(const Json& labels, std::string_view selector) {
  auto label = [&](std::string_view key) -> std::optional<std::string> {
    if (!labels.is_object()) return std::nullopt;
    auto it = labels.find(std::string(key));
    if (it == labels.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  for (std::string_view term : StrSplit(selector, ',')) {
    term = StripWhitespace(term);
    if (term.empty()) continue;
    if (size_t at = term.find("!="); at != std::string_view::npos) {
      auto value = label(StripWhitespace(term.substr(0, at)));
      if (value && *value == StripWhitespace(term.substr(at + 2))) return false;
      continue;
    }
    size_t at = term.find("==");
    size_t value_at = at + 2;
    if (at == std::string_view::npos) {
      at = term.find('=');
      value_at = at + 1;
    }
    if (at != std::string_view::npos) {
      auto value = label(StripWhitespace(term.substr(0, at)));
      if (!value || *value != StripWhitespace(term.substr(value_at))) return false;
      continue;
    }
    if (term.front() == '!') {
      if (label(term.substr(1))) return false;
      continue;
    }
    if (!label(term)) return false;
  }
  return true;
}

// One open watch: the filter it was opened with and the events not yet read.
class FakeApiClient::Channel {
 public:
  Channel(std::string resource, std::string ns, const ListOptions& options)
      : resource_(std::move(resource)),
        ns_(std::move(ns)),
        label_selector_(options.label_selector),
        field_selector_(options.field_selector),
        bookmarks_(options.allow_watch_bookmarks) {}

  const std::string& resource() const { return resource_; }
  bool wants_bookmarks() const { return bookmarks_; }

  bool Selects(const Json& object) const {
    if (!ns_.empty() && ObjectNamespace(object) != ns_) return false;
    const Json labels = object.value("/metadata/labels"_json_pointer, Json::object());
    return MatchesLabelSelector(labels, label_selector_) &&
           MatchesFieldSelector(object, field_selector_);
  }

  // The event this watch sees for a change, or nullopt when the change is outside its selection.
  std::optional<WatchEvent> Translate(WatchEvent::Type type, const Json& object,
                                      const std::optional<Json>& previous) const {
    const bool now_selected = Selects(object);
    if (type == WatchEvent::Type::kModified && previous) {
      const bool was_selected = Selects(*previous);
      if (was_selected && !now_selected) return WatchEvent{WatchEvent::Type::kDeleted, object};
      if (!was_selected && now_selected) return WatchEvent{WatchEvent::Type::kAdded, object};
    }
    if (!now_selected) return std::nullopt;
    return WatchEvent{type, object};
  }

  void Push(WatchEvent event) {
    std::lock_guard lock(mu_);
    if (ended_ || cancelled_ || broken_) return;
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  void End() {
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  void Break(Status status) {
    std::lock_guard lock(mu_);
    if (!ended_) broken_ = std::move(status);
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool Open() const {
    std::lock_guard lock(mu_);
    return !ended_ && !cancelled_ && !broken_;
  }

  StatusOr<std::optional<WatchEvent>> Next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || !events_.empty() || ended_ || broken_; });
    if (cancelled_) return CancelledError("watch cancelled");
    if (!events_.empty()) {
      WatchEvent event = std::move(events_.front());
      events_.pop_front();
      return std::optional<WatchEvent>(std::move(event));
    }
    if (broken_) return *broken_;
    return std::optional<WatchEvent>();
  }

 private:
  const std::string resource_;
  const std::string ns_;
  const std::string label_selector_;
  const std::string field_selector_;
  const bool bookmarks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> events_;
  bool ended_ = false;
  bool cancelled_ = false;
  std::optional<Status> broken_;
};

namespace {

class FakeWatchStream final : public WatchStream {
 public:
  explicit FakeWatchStream(std::shared_ptr<FakeApiClient::Channel> channel)
      : channel_(std::move(channel)) {}
  ~FakeWatchStream() override { channel_->Cancel(); }
  StatusOr<std::optional<WatchEvent>> Next() override { return channel_->Next(); }
  void Cancel() override { channel_->Cancel(); }

 private:
  std::shared_ptr<FakeApiClient::Channel> channel_;
};

}  // namespace

FakeApiClient::FakeApiClient()
    : status_subresources_{ResourceName(kNodes), ResourceName(kPods),
                           ResourceName(api::kComputeNodes), ResourceName(api::kComputePools)} {}

FakeApiClient::~FakeApiClient() {
  std::lock_guard lock(mu_);
  for (auto& channel : channels_) channel->End();
}

Status FakeApiClient::BeginCall(const Request& request) {
  Reactor reactor;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    changed_.notify_all();
    for (auto it = errors_.begin(); it != errors_.end(); ++it) {
      if (it->verb != request.verb) continue;
      if (!it->resource.empty() && it->resource != request.resource) continue;
      Status status = it->status;
      if (--it->remaining <= 0) errors_.erase(it);
      return status;
    }
    reactor = reactor_;
  }
  if (reactor) return reactor(request);
  return OkStatus();
}

std::string FakeApiClient::NextResourceVersion() { return StrCat(++resource_version_); }

std::map<std::string, Json>& FakeApiClient::Bucket(const ResourceType& type) {
  return objects_[ResourceName(type)];
}

bool FakeApiClient::HasStatusSubresource(const ResourceType& type) const {
  return status_subresources_.count(ResourceName(type)) > 0;
}

void FakeApiClient::PruneChannels() {
  std::erase_if(channels_,
                [](const std::shared_ptr<Channel>& channel) { return !channel->Open(); });
}

void FakeApiClient::Publish(const ResourceType& type, WatchEvent::Type event_type,
                            const Json& object, const std::optional<Json>& previous) {
  const std::string resource = ResourceName(type);
  history_.push_back(HistoryEntry{resource_version_, resource, event_type, object, previous});
  if (paused_resources_.count(resource)) return;
  PruneChannels();
  for (auto& channel : channels_) {
    if (channel->resource() != resource) continue;
    if (auto event = channel->Translate(event_type, object, previous)) {
      channel->Push(std::move(*event));
    }
  }
}

StatusOr<Json> FakeApiClient::Get(const ResourceType& type, std::string_view ns,
                                  std::string_view name) {
  ZHISUAN_RETURN_IF_ERROR(
      BeginCall({Verb::kGet, ResourceName(type), std::string(ns), std::string(name), {}, {}}));
  std::lock_guard lock(mu_);
  auto& bucket = Bucket(type);
  auto it = bucket.find(KeyFor(type.namespaced ? ns : "", name));
  if (it == bucket.end()) {
    return NotFoundError(StrCat(type.resource, " \"", name, "\" not found"));
  }
  return it->second;
}

StatusOr<ObjectList> FakeApiClient::List(const ResourceType& type, std::string_view ns,
                                         const ListOptions& options) {
  ZHISUAN_RETURN_IF_ERROR(
      BeginCall({Verb::kList, ResourceName(type), std::string(ns), "", options, {}}));
  std::lock_guard lock(mu_);
  std::string after_key;
  std::string list_version = StrCat(resource_version_);
  if (!options.continue_token.empty()) {
    // "<list resourceVersion>|<last key>"; expired once history before it is compacted.
    const size_t bar = options.continue_token.find('|');
    if (bar == std::string::npos) return InvalidArgumentError("malformed continue token");
    list_version = options.continue_token.substr(0, bar);
    after_key = options.continue_token.substr(bar + 1);
    auto version = ParseInt64(list_version);
    if (!version) return InvalidArgumentError("malformed continue token");
    if (*version < compacted_resource_version_) {
      return OutOfRangeError("The provided continue parameter is too old");
    }
  } else if (options.resource_version_match == "Exact" && !options.resource_version.empty()) {
    auto version = ParseInt64(options.resource_version);
    if (version && *version < compacted_resource_version_) {
      return OutOfRangeError(StrCat("too old resource version: ", *version));
    }
  }
  ObjectList list;
  list.resource_version = list_version;
  Channel filter(ResourceName(type), type.namespaced ? std::string(ns) : "", options);
  const auto& bucket = Bucket(type);
  // As kube-apiserver (v1.34 still): a list at resourceVersion "0" is served from the watch cache,
  // which ignores the limit and returns everything in one response.
  const int64_t limit = options.resource_version == "0" ? 0 : options.limit;
  for (auto it = after_key.empty() ? bucket.begin() : bucket.upper_bound(after_key);
       it != bucket.end(); ++it) {
    if (!filter.Selects(it->second)) continue;
    if (limit > 0 && static_cast<int64_t>(list.items.size()) == limit) {
      list.continue_token = StrCat(list_version, "|", ObjectKey(list.items.back()));
      break;
    }
    list.items.push_back(it->second);
  }
  return list;
}

StatusOr<Json> FakeApiClient::CreateLocked(const ResourceType& type, std::string_view ns,
                                           Json object) {
  if (!object.is_object()) return InvalidArgumentError("object must be a JSON object");
  Json& metadata = object["metadata"];
  if (!metadata.is_object()) metadata = Json::object();
  std::string name = metadata.value("name", std::string());
  if (name.empty()) {
    const std::string prefix = metadata.value("generateName", std::string());
    if (prefix.empty()) return InvalidArgumentError("metadata.name: Required value");
    name = StrCat(prefix, "x", next_uid_);
  }
  if (type.namespaced) {
    const std::string object_ns = metadata.value("namespace", std::string(ns));
    if (object_ns != ns) {
      return InvalidArgumentError("the namespace of the object does not match the request");
    }
    if (ns.empty()) return InvalidArgumentError("namespace is required");
    metadata["namespace"] = std::string(ns);
  } else {
    metadata.erase("namespace");
  }
  metadata["name"] = name;
  const std::string key = KeyFor(type.namespaced ? ns : "", name);
  auto& bucket = Bucket(type);
  if (bucket.count(key)) {
    return AlreadyExistsError(StrCat(type.resource, " \"", name, "\" already exists"));
  }
  metadata["uid"] = StrCat("00000000-0000-0000-0000-", next_uid_++);
  metadata["creationTimestamp"] = kFakeTimestamp;
  metadata["generation"] = 1;
  metadata["resourceVersion"] = NextResourceVersion();
  metadata.erase("deletionTimestamp");
  if (!object.contains("apiVersion")) object["apiVersion"] = type.ApiVersion();
  if (!object.contains("kind")) object["kind"] = type.kind;
  MutateOnWrite(type, object);
  bucket[key] = object;
  Publish(type, WatchEvent::Type::kAdded, object, std::nullopt);
  return object;
}

StatusOr<Json> FakeApiClient::Create(const ResourceType& type, std::string_view ns,
                                     const Json& object) {
  ZHISUAN_RETURN_IF_ERROR(BeginCall(
      {Verb::kCreate, ResourceName(type), std::string(ns), ObjectName(object), {}, object}));
  std::lock_guard lock(mu_);
  return CreateLocked(type, type.namespaced ? ns : "", object);
}

StatusOr<Json> FakeApiClient::CreateSubresource(const ResourceType& type, std::string_view ns,
                                                std::string_view name, std::string_view subresource,
                                                const Json& object) {
  ZHISUAN_RETURN_IF_ERROR(BeginCall({Verb::kCreate,
                                     StrCat(ResourceName(type), "/", subresource),
                                     std::string(ns),
                                     std::string(name),
                                     {},
                                     object}));
  if (subresource != "eviction") {
    return UnimplementedError(StrCat("the fake does not serve ", subresource));
  }
  DeleteOptions options;
  options.precondition_uid =
      object.value("/deleteOptions/preconditions/uid"_json_pointer, std::string());
  ZHISUAN_RETURN_IF_ERROR(Delete(type, ns, name, options));
  return Json{{"kind", "Status"}, {"status", "Success"}};
}

// Stores `updated` in place of `existing`: bumps resourceVersion (and generation when the spec
// changed), completes a pending deletion once the finalizers are gone, and publishes the change.
StatusOr<Json> FakeApiClient::StoreUpdate(const ResourceType& type, Json updated,
                                          const Json& existing, const std::string& key) {
  Json& metadata = updated["metadata"];
  const Json& old_metadata = existing["metadata"];
  for (const char* field : {"uid", "creationTimestamp", "name", "namespace", "deletionTimestamp"}) {
    if (old_metadata.contains(field)) {
      metadata[field] = old_metadata[field];
    } else {
      metadata.erase(field);
    }
  }
  int64_t generation = old_metadata.value("generation", int64_t{1});
  if (SpecPart(updated) != SpecPart(existing)) ++generation;
  metadata["generation"] = generation;
  if (updated == existing) return updated;  // a no-op write does not bump resourceVersion
  metadata["resourceVersion"] = NextResourceVersion();
  auto& bucket = Bucket(type);
  const bool finalizers_gone = !metadata.contains("finalizers") || metadata["finalizers"].empty();
  if (metadata.contains("deletionTimestamp") && finalizers_gone) {
    bucket.erase(key);
    Publish(type, WatchEvent::Type::kDeleted, updated, std::nullopt);
    return updated;
  }
  bucket[key] = updated;
  Publish(type, WatchEvent::Type::kModified, updated, existing);
  return updated;
}

StatusOr<Json> FakeApiClient::UpdateLocked(const ResourceType& type, const Json& object,
                                           bool status_only) {
  const std::string ns = type.namespaced ? ObjectNamespace(object) : "";
  const std::string name = ObjectName(object);
  const std::string key = KeyFor(ns, name);
  auto& bucket = Bucket(type);
  auto it = bucket.find(key);
  if (it == bucket.end()) {
    return NotFoundError(StrCat(type.resource, " \"", name, "\" not found"));
  }
  const Json existing = it->second;
  const std::string expected = ObjectResourceVersion(object);
  if (!expected.empty() && expected != ObjectResourceVersion(existing)) {
    return AbortedError(StrCat("Operation cannot be fulfilled on ", type.resource, " \"", name,
                               "\": the object has been modified; please apply your changes to "
                               "the latest version and try again"));
  }
  Json updated = existing;
  if (status_only) {
    if (object.contains("status")) {
      updated["status"] = object["status"];
    } else {
      updated.erase("status");
    }
  } else {
    updated = object;
    if (HasStatusSubresource(type)) {
      if (existing.contains("status")) {
        updated["status"] = existing["status"];
      } else {
        updated.erase("status");
      }
    }
  }
  MutateOnWrite(type, updated);
  return StoreUpdate(type, std::move(updated), existing, key);
}

StatusOr<Json> FakeApiClient::Update(const ResourceType& type, const Json& object) {
  ZHISUAN_RETURN_IF_ERROR(BeginCall({Verb::kUpdate,
                                     ResourceName(type),
                                     ObjectNamespace(object),
                                     ObjectName(object),
                                     {},
                                     object}));
  std::lock_guard lock(mu_);
  return UpdateLocked(type, object, /*status_only=*/false);
}

StatusOr<Json> FakeApiClient::UpdateStatus(const ResourceType& type, const Json& object) {
  ZHISUAN_RETURN_IF_ERROR(BeginCall({Verb::kUpdateStatus,
                                     ResourceName(type),
                                     ObjectNamespace(object),
                                     ObjectName(object),
                                     {},
                                     object}));
  std::lock_guard lock(mu_);
  return UpdateLocked(type, object, /*status_only=*/true);
}

Status FakeApiClient::Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                             const DeleteOptions& options) {
  ZHISUAN_RETURN_IF_ERROR(
      BeginCall({Verb::kDelete, ResourceName(type), std::string(ns), std::string(name), {}, {}}));
  std::lock_guard lock(mu_);
  const std::string key = KeyFor(type.namespaced ? ns : "", name);
  auto& bucket = Bucket(type);
  auto it = bucket.find(key);
  if (it == bucket.end()) return NotFoundError(StrCat(type.resource, " \"", name, "\" not found"));
  const Json existing = it->second;
  if (!options.precondition_uid.empty() &&
      options.precondition_uid != existing["metadata"].value("uid", std::string())) {
    return AbortedError("Precondition failed: UID in precondition does not match");
  }
  if (!options.precondition_resource_version.empty() &&
      options.precondition_resource_version != ObjectResourceVersion(existing)) {
    return AbortedError("Precondition failed: ResourceVersion in precondition does not match");
  }
  const Json finalizers = existing["metadata"].value("finalizers", Json::array());
  if (!finalizers.empty()) {
    if (existing["metadata"].contains("deletionTimestamp")) return OkStatus();
    Json updated = existing;
    updated["metadata"]["deletionTimestamp"] = kFakeTimestamp;
    updated["metadata"]["resourceVersion"] = NextResourceVersion();
    it->second = updated;
    Publish(type, WatchEvent::Type::kModified, updated, existing);
    return OkStatus();
  }
  Json deleted = existing;
  deleted["metadata"]["resourceVersion"] = NextResourceVersion();
  bucket.erase(it);
  Publish(type, WatchEvent::Type::kDeleted, deleted, std::nullopt);
  return OkStatus();
}

StatusOr<Json> FakeApiClient::Patch(const ResourceType& type, std::string_view ns,
                                    std::string_view name, PatchType patch_type, const Json& patch,
                                    const PatchOptions& options) {
  ZHISUAN_RETURN_IF_ERROR(
      BeginCall({Verb::kPatch, ResourceName(type), std::string(ns), std::string(name), {}, patch}));
  if (patch_type == PatchType::kApply && options.field_manager.empty()) {
    return InvalidArgumentError("fieldManager is required for apply patches");
  }
  std::lock_guard lock(mu_);
  const std::string object_ns = type.namespaced ? std::string(ns) : "";
  const std::string key = KeyFor(object_ns, name);
  auto& bucket = Bucket(type);
  auto it = bucket.find(key);
  if (it == bucket.end()) {
    if (patch_type != PatchType::kApply) {
      return NotFoundError(StrCat(type.resource, " \"", name, "\" not found"));
    }
    Json object = patch;
    object["metadata"]["name"] = std::string(name);
    return CreateLocked(type, object_ns, std::move(object));
  }
  const Json existing = it->second;
  const bool status_only = options.subresource == "status";
  Json target = status_only ? existing.value("status", Json::object()) : existing;
  try {
    if (patch_type == PatchType::kJson) {
      target = target.patch(patch);
    } else {
      const Json& effective = status_only ? patch.value("status", Json::object()) : patch;
      const std::string expected =
          effective.value("/metadata/resourceVersion"_json_pointer, std::string());
      if (!expected.empty() && expected != ObjectResourceVersion(existing)) {
        return AbortedError(StrCat("Operation cannot be fulfilled on ", type.resource, " \"", name,
                                   "\": the object has been modified"));
      }
      target.merge_patch(effective);
    }
  } catch (const Json::exception& error) {
    return InvalidArgumentError(StrCat("invalid patch: ", error.what()));
  }
  Json updated = existing;
  if (status_only) {
    updated["status"] = target;
  } else {
    updated = target;
    if (HasStatusSubresource(type) && patch_type != PatchType::kApply) {
      if (existing.contains("status")) {
        updated["status"] = existing["status"];
      } else {
        updated.erase("status");
      }
    }
  }
  updated["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"];
  MutateOnWrite(type, updated);
  return StoreUpdate(type, std::move(updated), existing, key);
}

StatusOr<WatchStreamPtr> FakeApiClient::Watch(const ResourceType& type, std::string_view ns,
                                              const ListOptions& options) {
  ZHISUAN_RETURN_IF_ERROR(
      BeginCall({Verb::kWatch, ResourceName(type), std::string(ns), "", options, {}}));
  std::lock_guard lock(mu_);
  auto channel = std::make_shared<Channel>(ResourceName(type),
                                           type.namespaced ? std::string(ns) : "", options);
  auto stream = std::make_unique<FakeWatchStream>(channel);
  if (expire_next_watch_) {
    expire_next_watch_ = false;
    channel->Push({WatchEvent::Type::kError, GoneStatus("too old resource version")});
    channel->End();
    return WatchStreamPtr(std::move(stream));
  }
  const std::string& from = options.resource_version;
  if (from.empty() || from == "0") {
    // Start with the current state as synthetic ADDED events, as the server does.
    for (const auto& [key, object] : Bucket(type)) {
      if (channel->Selects(object)) channel->Push({WatchEvent::Type::kAdded, object});
    }
  } else {
    auto version = ParseInt64(from);
    if (!version) return InvalidArgumentError(StrCat("invalid resourceVersion \"", from, "\""));
    if (*version < compacted_resource_version_) {
      channel->Push(
          {WatchEvent::Type::kError, GoneStatus(StrCat("too old resource version: ", *version, " (",
                                                       compacted_resource_version_, ")"))});
      channel->End();
      return WatchStreamPtr(std::move(stream));
    }
    for (const HistoryEntry& entry : history_) {
      if (entry.resource_version <= *version || entry.resource != channel->resource()) continue;
      if (auto event = channel->Translate(entry.type, entry.object, entry.previous)) {
        channel->Push(std::move(*event));
      }
    }
  }
  channels_.push_back(channel);
  changed_.notify_all();
  return WatchStreamPtr(std::move(stream));
}

void FakeApiClient::InjectError(Verb verb, Status status, int times, std::string resource) {
  std::lock_guard lock(mu_);
  errors_.push_back({verb, std::move(resource), std::move(status), times});
}

void FakeApiClient::SetReactor(Reactor reactor) {
  std::lock_guard lock(mu_);
  reactor_ = std::move(reactor);
}

void FakeApiClient::ExpireNextWatch() {
  std::lock_guard lock(mu_);
  expire_next_watch_ = true;
}

void FakeApiClient::Compact() {
  std::lock_guard lock(mu_);
  compacted_resource_version_ = resource_version_;
  history_.clear();
}

void FakeApiClient::BreakWatches(const ResourceType& type, Status status) {
  std::lock_guard lock(mu_);
  for (auto& channel : channels_) {
    if (channel->resource() == ResourceName(type)) channel->Break(status);
  }
  PruneChannels();
}

void FakeApiClient::CloseWatches(const ResourceType& type) {
  std::lock_guard lock(mu_);
  for (auto& channel : channels_) {
    if (channel->resource() == ResourceName(type)) channel->End();
  }
  PruneChannels();
}

void FakeApiClient::ExpireWatches(const ResourceType& type) {
  std::lock_guard lock(mu_);
  for (auto& channel : channels_) {
    if (channel->resource() != ResourceName(type)) continue;
    channel->Push({WatchEvent::Type::kError, GoneStatus("too old resource version")});
    channel->End();
  }
  PruneChannels();
}

void FakeApiClient::SendBookmarks(const ResourceType& type) {
  std::lock_guard lock(mu_);
  PruneChannels();
  const Json bookmark = {{"kind", type.kind},
                         {"apiVersion", type.ApiVersion()},
                         {"metadata", {{"resourceVersion", StrCat(resource_version_)}}}};
  for (auto& channel : channels_) {
    if (channel->resource() == ResourceName(type) && channel->wants_bookmarks()) {
      channel->Push({WatchEvent::Type::kBookmark, bookmark});
    }
  }
}

void FakeApiClient::PauseWatchDelivery(const ResourceType& type, bool paused) {
  std::lock_guard lock(mu_);
  if (paused) {
    paused_resources_.insert(ResourceName(type));
  } else {
    paused_resources_.erase(ResourceName(type));
  }
}

std::optional<Json> FakeApiClient::Peek(const ResourceType& type, std::string_view ns,
                                        std::string_view name) const {
  std::lock_guard lock(mu_);
  auto bucket = objects_.find(ResourceName(type));
  if (bucket == objects_.end()) return std::nullopt;
  auto it = bucket->second.find(KeyFor(type.namespaced ? ns : "", name));
  if (it == bucket->second.end()) return std::nullopt;
  return it->second;
}

std::vector<Json> FakeApiClient::Objects(const ResourceType& type, std::string_view ns) const {
  std::lock_guard lock(mu_);
  std::vector<Json> out;
  auto bucket = objects_.find(ResourceName(type));
  if (bucket == objects_.end()) return out;
  for (const auto& [key, object] : bucket->second) {
    if (ns.empty() || ObjectNamespace(object) == ns) out.push_back(object);
  }
  return out;
}

int64_t FakeApiClient::CurrentResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

std::vector<FakeApiClient::Request> FakeApiClient::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeApiClient::CallCount(Verb verb) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(),
                                        [&](const Request& r) { return r.verb == verb; }));
}

size_t FakeApiClient::OpenWatchCount(const ResourceType& type) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(
      std::count_if(channels_.begin(), channels_.end(), [&](const auto& channel) {
        return channel->resource() == ResourceName(type) && channel->Open();
      }));
}

bool FakeApiClient::WaitForOpenWatches(const ResourceType& type, size_t count,
                                       std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  // Channels close without notifying the fake, so re-check on a short period as well.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const size_t open = static_cast<size_t>(
        std::count_if(channels_.begin(), channels_.end(), [&](const auto& channel) {
          return channel->resource() == ResourceName(type) && channel->Open();
        }));
    if (open >= count) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    changed_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

bool FakeApiClient::WaitForCalls(Verb verb, int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] {
    return std::count_if(requests_.begin(), requests_.end(),
                         [&](const Request& r) { return r.verb == verb; }) >= count;
  });
}

void FakeApiClient::SetWriteMutator(const ResourceType& type, WriteMutator mutator) {
  std::lock_guard lock(mu_);
  write_mutators_[ResourceName(type)] = std::move(mutator);
}

void FakeApiClient::MutateOnWrite(const ResourceType& type, Json& object) const {
  auto it = write_mutators_.find(ResourceName(type));
  if (it != write_mutators_.end()) it->second(object);
}

void FakeApiClient::SetStatusSubresource(const ResourceType& type, bool has_status) {
  std::lock_guard lock(mu_);
  if (has_status) {
    status_subresources_.insert(ResourceName(type));
  } else {
    status_subresources_.erase(ResourceName(type));
  }
}

}  // namespace zhisuan::kube
