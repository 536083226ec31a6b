#include "kube/store.h"

#include <mutex>

#include "common/strings.h"

namespace zhisuan::kube {

std::string ObjectKey(const Json& object) {
  const std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
  const std::string name = object.value("/metadata/name"_json_pointer, std::string());
  return ns.empty() ? name : StrCat(ns, "/", name);
}

std::vector<std::string> NamespaceIndexFunc(const Json& object) {
  const std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
  if (ns.empty()) return {};
  return {ns};
}

Status Store::AddIndex(const std::string& name, IndexFunc index_func) {
  std::unique_lock lock(mu_);
  if (indexes_.count(name)) return AlreadyExistsError(StrCat("index \"", name, "\" exists"));
  Index& index = indexes_[name];
  index.func = std::move(index_func);
  for (const auto& [key, object] : objects_) {
    for (const std::string& value : index.func(*object)) index.keys_by_value[value].insert(key);
  }
  return OkStatus();
}

ObjectPtr Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<std::string> Store::ListKeys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

StatusOr<std::vector<ObjectPtr>> Store::ByIndex(const std::string& index,
                                                const std::string& value) const {
  std::shared_lock lock(mu_);
  auto found = indexes_.find(index);
  if (found == indexes_.end()) return NotFoundError(StrCat("no index named \"", index, "\""));
  std::vector<ObjectPtr> out;
  auto keys = found->second.keys_by_value.find(value);
  if (keys == found->second.keys_by_value.end()) return out;
  for (const std::string& key : keys->second) out.push_back(objects_.at(key));
  return out;
}

size_t Store::Size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

void Store::IndexLocked(const std::string& key, const ObjectPtr& old_object,
                        const ObjectPtr& new_object) {
  for (auto& [name, index] : indexes_) {
    if (old_object) {
      for (const std::string& value : index.func(*old_object)) {
        auto it = index.keys_by_value.find(value);
        if (it == index.keys_by_value.end()) continue;
        it->second.erase(key);
        // Drop empty buckets so an index over short-lived values does not grow forever.
        if (it->second.empty()) index.keys_by_value.erase(it);
      }
    }
    if (new_object) {
      for (const std::string& value : index.func(*new_object)) {
        index.keys_by_value[value].insert(key);
      }
    }
  }
}

ObjectPtr Store::Upsert(const ObjectPtr& object) {
  const std::string key = ObjectKey(*object);
  std::unique_lock lock(mu_);
  ObjectPtr& slot = objects_[key];
  ObjectPtr old_object = std::move(slot);
  slot = object;
  IndexLocked(key, old_object, object);
  return old_object;
}

ObjectPtr Store::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr old_object = std::move(it->second);
  objects_.erase(it);
  IndexLocked(key, old_object, nullptr);
  return old_object;
}

}  // namespace zhisuan::kube
