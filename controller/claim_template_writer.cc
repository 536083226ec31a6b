#include "controller/claim_template_writer.h"

#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::controller {
namespace {

// Whether `observed` says everything `desired` says; fields the API server defaulted (a request's
// allocationMode) are extra in `observed` and do not count as a difference.
bool Contains(const kube::Json& observed, const kube::Json& desired) {
  if (desired.is_object()) {
    if (!observed.is_object()) return false;
    for (const auto& [key, value] : desired.items()) {
      if (!observed.contains(key) || !Contains(observed[key], value)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!observed.is_array() || observed.size() != desired.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!Contains(observed[i], desired[i])) return false;
    }
    return true;
  }
  return observed == desired;
}

}  // namespace

ClaimTemplateWriter::ClaimTemplateWriter(kube::ApiClientPtr client, WriteGate may_write)
    : client_(std::move(client)), may_write_(std::move(may_write)) {}

StatusOr<int> ClaimTemplateWriter::Ensure(const kube::Json& desired) {
  const std::string ns = desired["metadata"].value("namespace", "");
  const std::string name = desired["metadata"].value("name", "");
  const std::string key = StrCat(ns, "/", name);
  std::lock_guard lock(mu_);
  if (auto seen = seen_.find(key); seen != seen_.end() && seen->second == desired["spec"]) {
    return 0;
  }
  int writes = 0;
  auto current = client_->Get(kResourceClaimTemplates, ns, name);
  if (current.ok() && Contains((*current)["spec"], desired["spec"])) {
    seen_[key] = desired["spec"];
    return 0;
  }
  if (!current.ok() && !kube::IsNotFound(current.status())) {
    return current.status().Annotate(StrCat("reading ResourceClaimTemplate ", key));
  }
  if (may_write_ && !may_write_()) return UnavailableError("no longer leading");
  if (current.ok()) {
    // The spec is immutable: replace the object, conditional on the one read.
    kube::DeleteOptions options;
    options.precondition_uid = (*current)["metadata"].value("uid", "");
    Status deleted = client_->Delete(kResourceClaimTemplates, ns, name, options);
    ++writes;
    if (!deleted.ok() && !kube::IsNotFound(deleted)) {
      return deleted.Annotate(StrCat("replacing ResourceClaimTemplate ", key));
    }
  }
  auto created = client_->Create(kResourceClaimTemplates, ns, desired);
  ++writes;
  if (!created.ok()) {
    return created.status().Annotate(StrCat("creating ResourceClaimTemplate ", key));
  }
  seen_[key] = desired["spec"];
  ZLOG(Info) << (current.ok() ? "replaced" : "created") << " ResourceClaimTemplate " << key;
  return writes;
}

void ClaimTemplateWriter::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  seen_.erase(key);
}

}  // namespace zhisuan::controller
