#pragma once
// The informer's cache: a thread-safe map from object key to the latest object, plus secondary
// indexes ("pods by node", "ComputeNodes by pool"). Objects are immutable shared pointers, so a
// reader holds a snapshot without copying a large object and without blocking the writer.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "kube/client.h"

namespace zhisuan::kube {

using ObjectPtr = std::shared_ptr<const Json>;

// "namespace/name", or "name" for a cluster-scoped object: the key work queues carry.
std::string ObjectKey(const Json& object);

// The values an object is indexed under (none: not in the index).
using IndexFunc = std::function<std::vector<std::string>(const Json& object)>;

// An index on metadata.namespace, the one most callers want.
std::vector<std::string> NamespaceIndexFunc(const Json& object);

class Store {
 public:
  // Adds an index and builds it over what is already stored. AlreadyExists if the name is taken.
  Status AddIndex(const std::string& name, IndexFunc index_func);

  // nullptr when absent.
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> ListKeys() const;
  // Objects whose index function returned `value`; NotFound for an unknown index.
  StatusOr<std::vector<ObjectPtr>> ByIndex(const std::string& index,
                                           const std::string& value) const;
  size_t Size() const;

  // Writers (the informer). Each returns the object it replaced, or nullptr.
  ObjectPtr Upsert(const ObjectPtr& object);
  ObjectPtr Remove(const std::string& key);

 private:
  struct Index {
    IndexFunc func;
    std::unordered_map<std::string, std::set<std::string>> keys_by_value;
  };
  void IndexLocked(const std::string& key, const ObjectPtr& old_object,
                   const ObjectPtr& new_object);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr> objects_;
  std::map<std::string, Index> indexes_;
};

}  // namespace zhisuan::kube
