#pragma once
// ClaimTemplateWriter: keeps each ComputePool's DRA ResourceClaimTemplate (reconcile/
// claim_template.h) on the server, with --dra. Writes only on change: it remembers the spec it
// last saw per template, so an unchanged pool costs no API call after the first reconcile. A
// template's spec is immutable, so a changed one (the pool's vendor or products changed) is
// deleted and created again. Deleting the pool needs nothing here: the template's owner
// reference to the pool lets the garbage collector remove it. A template deleted by someone else
// is reported through Forget (the pool controller watches the templates), so that the next Ensure
// reads the server again and puts it back.

#include <map>
#include <mutex>
#include <string>

#include "controller/plan_executor.h"
#include "kube/client.h"

namespace zhisuan::controller {

inline const kube::ResourceType kResourceClaimTemplates{
    "resource.k8s.io", "v1", "resourceclaimtemplates", "ResourceClaimTemplate", true};

class ClaimTemplateWriter {
 public:
  ClaimTemplateWriter(kube::ApiClientPtr client, WriteGate may_write);

  // Brings the template `desired` names to `desired`; returns the writes that took.
  StatusOr<int> Ensure(const kube::Json& desired);
  // The template "namespace/name" may have changed on the server: the next Ensure reads it.
  void Forget(const std::string& key);

 private:
  const kube::ApiClientPtr client_;
  const WriteGate may_write_;
  std::mutex mu_;
  std::map<std::string, kube::Json> seen_;  // "namespace/name" -> the spec on the server
};

}  // namespace zhisuan::controller
