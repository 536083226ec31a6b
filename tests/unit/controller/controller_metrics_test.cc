#include "controller/controller_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "tests/unit/controller/pool_fixtures.h"

namespace zhisuan::controller {
namespace {

using fixtures::MakePool;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Scrape(ControllerMetrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.registry()->Collect());
}

api::ComputePoolStatus Members(std::vector<std::string> nodes) {
  api::ComputePoolStatus status;
  status.nodes = std::move(nodes);
  return status;
}

TEST(ControllerMetrics, ExportsCarbonPolicyAndMembershipPerPool) {
  ControllerMetrics metrics(std::make_shared<prometheus::Registry>());
  ClusterSnapshot snapshot;
  snapshot.pools = {MakePool("tenant-a/green")
                        .Flops("20P")
                        .MinCarbonFree(0.9)
                        .Status(Members({"n1", "n2"}))
                        .Obj(),
                    MakePool("tenant-b/any").Accelerators(8).Status(Members({"n3"})).Obj()};
  metrics.ObserveCluster(snapshot);
  std::string text = Scrape(metrics);
  EXPECT_THAT(
      text,
      HasSubstr(R"(zhisuan_pool_carbon_min_free_ratio{namespace="tenant-a",pool="green"} 0.9)"));
  EXPECT_THAT(text, Not(HasSubstr(R"(zhisuan_pool_carbon_min_free_ratio{namespace="tenant-b")")))
      << "a pool without a carbon policy exports no threshold";
  EXPECT_THAT(text,
              HasSubstr(R"(zhisuan_pool_member{namespace="tenant-a",node="n2",pool="green"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(zhisuan_pool_member{namespace="tenant-b",node="n3",pool="any"} 1)"));

  // A member leaves and a pool goes away: their series go too, rather than freezing.
  snapshot.pools = {
      MakePool("tenant-a/green").Flops("20P").MinCarbonFree(0.9).Status(Members({"n1"})).Obj()};
  metrics.ObserveCluster(snapshot);
  text = Scrape(metrics);
  EXPECT_THAT(text,
              HasSubstr(R"(zhisuan_pool_member{namespace="tenant-a",node="n1",pool="green"} 1)"));
  EXPECT_THAT(text, Not(HasSubstr(R"(node="n2")")));
  EXPECT_THAT(text, Not(HasSubstr(R"(pool="any")")));

  snapshot.pools.clear();
  metrics.ObserveCluster(snapshot);
  text = Scrape(metrics);
  EXPECT_THAT(text, Not(HasSubstr("zhisuan_pool_carbon_min_free_ratio{")));
  EXPECT_THAT(text, Not(HasSubstr("zhisuan_pool_member{")));
}

TEST(ControllerMetrics, APoolWithoutACarbonFigureHasNoCarbonFreeSeries) {
  ControllerMetrics metrics(std::make_shared<prometheus::Registry>());
  ClusterSnapshot snapshot;
  api::ComputePoolStatus measured = Members({"n1"});
  measured.carbon_free_ratio = 0.95;
  snapshot.pools = {
      MakePool("tenant-a/green").Flops("20P").MinCarbonFree(0.9).Status(measured).Obj(),
      MakePool("tenant-b/empty").Flops("20P").MinCarbonFree(0.9).Obj()};
  metrics.ObserveCluster(snapshot);
  std::string text = Scrape(metrics);
  EXPECT_THAT(
      text, HasSubstr(R"(zhisuan_pool_carbon_free_ratio{namespace="tenant-a",pool="green"} 0.95)"));
  EXPECT_THAT(text, Not(HasSubstr(R"(zhisuan_pool_carbon_free_ratio{namespace="tenant-b")")))
      << "unknown is not 0: a 0 would fire PoolCarbonNonCompliant for a pool with no members";

  // The figure goes unknown (the last member left): the series goes rather than freezing.
  snapshot.pools[0] = MakePool("tenant-a/green").Flops("20P").MinCarbonFree(0.9).Obj();
  metrics.ObserveCluster(snapshot);
  EXPECT_THAT(Scrape(metrics), Not(HasSubstr("zhisuan_pool_carbon_free_ratio{")));
}

}  // namespace
}  // namespace zhisuan::controller
