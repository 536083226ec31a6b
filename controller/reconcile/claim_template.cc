#include "controller/reconcile/claim_template.h"

#include "api/group_version.h"
#include "common/strings.h"

namespace zhisuan::controller {
namespace {

// A CEL string literal: the values come from the API (label values, product names), which allow
// no quote or backslash, but escaping keeps the expression well-formed whatever they hold.
std::string CelString(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Attribute(std::string_view name) {
  return StrCat("device.attributes[", CelString(kDraDriverName), "].", name);
}

}  // namespace

std::string ClaimTemplateName(std::string_view pool_name) {
  return StrCat(pool_name, "-accelerator");
}

std::string PoolDeviceSelector(const api::ComputePool& pool) {
  std::string expression = StrCat(Attribute("pool"), " == ", CelString(pool.BindingValue()));
  if (!pool.spec.vendor.empty()) {
    expression += StrCat(" && ", Attribute("vendor"), " == ", CelString(pool.spec.vendor));
  }
  if (!pool.spec.products.empty()) {
    std::string products;
    for (const std::string& product : pool.spec.products) {
      products += StrCat(products.empty() ? "" : ", ", CelString(product));
    }
    expression += StrCat(" && ", Attribute("product"), " in [", products, "]");
  }
  return expression;
}

api::Json DesiredClaimTemplate(const api::ComputePool& pool) {
  const std::string device_class = pool.spec.vendor.empty()
                                       ? std::string(kDraDriverName)
                                       : StrCat(pool.spec.vendor, ".", kDraDriverName);
  api::Json request = {
      {"name", "accelerator"},
      {"exactly",
       {{"deviceClassName", device_class},
        {"count", 1},
        {"selectors", api::Json::array({{{"cel", {{"expression", PoolDeviceSelector(pool)}}}}})}}}};
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceClaimTemplate"},
          {"metadata",
           {{"name", ClaimTemplateName(pool.name)},
            {"namespace", pool.pool_namespace},
            {"labels", {{kClaimTemplateManagedByLabel, kClaimTemplateManagedBy}}},
            {"ownerReferences", api::Json::array({{{"apiVersion", api::kApiVersion},
                                                   {"kind", api::kComputePools.kind},
                                                   {"name", pool.name},
                                                   {"uid", pool.uid},
                                                   {"controller", true}}})}}},
          {"spec", {{"spec", {{"devices", {{"requests", api::Json::array({request})}}}}}}}};
}

}  // namespace zhisuan::controller
