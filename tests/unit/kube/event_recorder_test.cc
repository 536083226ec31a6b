#include "kube/event_recorder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "tests/unit/kube/fake_api_client.h"

namespace zhisuan::kube {
namespace {

using namespace std::chrono_literals;

const ObjectReference kGpuNode{"zhisuan.io/v1alpha1", "ComputeNode", "", "gpu-7", "uid-7"};
const ObjectReference kPool{"zhisuan.io/v1alpha1", "ComputePool", "team-a", "train", "uid-p"};

class EventRecorderTest : public ::testing::Test {
 protected:
  std::unique_ptr<EventRecorder> Recorder(EventRecorderOptions options = {}) {
    return std::make_unique<EventRecorder>(fake_, "zhisuan-controller", "node-a", options, clock_);
  }
  std::shared_ptr<FakeApiClient> fake_ = std::make_shared<FakeApiClient>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
};

TEST_F(EventRecorderTest, CreatesACoreEventAboutTheObject) {
  auto recorder = Recorder();
  recorder->Record(kPool, EventType::kWarning, "Unschedulable", "no GPU fits");
  recorder->Flush();
  auto events = fake_->Objects(kEvents, "team-a");
  ASSERT_EQ(events.size(), 1u);
  const Json& event = events[0];
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["reason"], "Unschedulable");
  EXPECT_EQ(event["message"], "no GPU fits");
  EXPECT_EQ(event["count"], 1);
  EXPECT_EQ(event["involvedObject"]["kind"], "ComputePool");
  EXPECT_EQ(event["involvedObject"]["namespace"], "team-a");
  EXPECT_EQ(event["involvedObject"]["uid"], "uid-p");
  EXPECT_EQ(event["source"]["component"], "zhisuan-controller");
  EXPECT_EQ(event["source"]["host"], "node-a");
  EXPECT_EQ(event["firstTimestamp"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(recorder->created(), 1u);
}

TEST_F(EventRecorderTest, ClusterScopedObjectsReportIntoDefault) {
  auto recorder = Recorder();
  recorder->Record(kGpuNode, EventType::kNormal, "Discovered", "8 GPUs");
  recorder->Flush();
  EXPECT_EQ(fake_->Objects(kEvents, "default").size(), 1u);
}

TEST_F(EventRecorderTest, RepeatsAggregateIntoOneEventWithACount) {
  auto recorder = Recorder();
  for (int i = 0; i < 5; ++i) {
    recorder->Record(kGpuNode, EventType::kWarning, "XidError", "Xid 79 on GPU 3");
    clock_->Advance(1s);
  }
  recorder->Record(kGpuNode, EventType::kWarning, "XidError", "Xid 48 on GPU 1");
  recorder->Flush();
  auto events = fake_->Objects(kEvents, "default");
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, Json> by_message;
  for (const Json& event : events) by_message[event["message"]] = event;
  EXPECT_EQ(by_message["Xid 79 on GPU 3"]["count"], 5);
  EXPECT_EQ(by_message["Xid 79 on GPU 3"]["firstTimestamp"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(by_message["Xid 79 on GPU 3"]["lastTimestamp"], "2027-01-15T08:00:04Z");
  EXPECT_EQ(by_message["Xid 48 on GPU 1"]["count"], 1);
  EXPECT_EQ(recorder->created(), 2u);
  EXPECT_EQ(recorder->patched(), 4u);
}

TEST_F(EventRecorderTest, RepeatAfterTheWindowStartsANewEvent) {
  auto recorder = Recorder();
  recorder->Record(kGpuNode, EventType::kNormal, "Healthy", "all good");
  recorder->Flush();
  clock_->Advance(11min);
  recorder->Record(kGpuNode, EventType::kNormal, "Healthy", "all good");
  recorder->Flush();
  EXPECT_EQ(fake_->Objects(kEvents, "default").size(), 2u);
}

TEST_F(EventRecorderTest, ExpiredEventIsRecreatedInsteadOfLost) {
  auto recorder = Recorder();
  recorder->Record(kGpuNode, EventType::kNormal, "Healthy", "all good");
  recorder->Flush();
  const std::string name = fake_->Objects(kEvents, "default")[0]["metadata"]["name"];
  ASSERT_TRUE(fake_->Delete(kEvents, "default", name).ok());  // the server's event TTL
  recorder->Record(kGpuNode, EventType::kNormal, "Healthy", "all good");
  recorder->Flush();
  auto events = fake_->Objects(kEvents, "default");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], 1);
  EXPECT_EQ(recorder->created(), 2u);
}

TEST_F(EventRecorderTest, PerObjectRateLimitDropsFloodsButNotOtherObjects) {
  EventRecorderOptions options;
  options.per_object_burst = 3;
  options.per_object_qps = 0.1;  // one more every 10s
  auto recorder = Recorder(options);
  for (int i = 0; i < 10; ++i) {
    recorder->Record(kGpuNode, EventType::kWarning, "Flap", "flap " + std::to_string(i));
  }
  recorder->Record(kPool, EventType::kNormal, "Scaled", "to 4");
  recorder->Flush();
  EXPECT_EQ(fake_->Objects(kEvents, "default").size(), 3u);
  EXPECT_EQ(fake_->Objects(kEvents, "team-a").size(), 1u);
  EXPECT_EQ(recorder->dropped(), 7u);
  clock_->Advance(10s);
  recorder->Record(kGpuNode, EventType::kWarning, "Flap", "flap again");
  recorder->Record(kGpuNode, EventType::kWarning, "Flap", "flap once more");
  recorder->Flush();
  EXPECT_EQ(fake_->Objects(kEvents, "default").size(), 4u);
  EXPECT_EQ(recorder->dropped(), 8u);
}

TEST_F(EventRecorderTest, RecordNeverWaitsForTheApiServer) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  fake_->SetReactor([released](const FakeApiClient::Request&) {
    released.wait();
    return OkStatus();
  });
  auto recorder = Recorder();
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    recorder->Record(kGpuNode, EventType::kNormal, "Step", std::to_string(i));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(recorder->created(), 0u) << "the first write is still blocked";
  release.set_value();
  recorder->Flush();
  EXPECT_EQ(recorder->created(), 20u);
}

TEST_F(EventRecorderTest, FailuresAreCountedNotRaised) {
  fake_->InjectError(FakeApiClient::Verb::kCreate, UnavailableError("apiserver down"));
  auto recorder = Recorder();
  recorder->Record(kGpuNode, EventType::kNormal, "A", "1");
  recorder->Record(kGpuNode, EventType::kNormal, "B", "2");
  recorder->Flush();
  EXPECT_EQ(recorder->failed(), 1u);
  EXPECT_EQ(recorder->created(), 1u);
}

TEST_F(EventRecorderTest, StopWritesWhatIsQueuedThenDropsLaterRecords) {
  auto recorder = Recorder();
  recorder->Record(kGpuNode, EventType::kNormal, "A", "1");
  recorder->Stop();
  EXPECT_EQ(recorder->created(), 1u);
  recorder->Record(kGpuNode, EventType::kNormal, "B", "2");
  recorder->Flush();  // returns at once: nothing will be written
  EXPECT_EQ(recorder->dropped(), 1u);
}

TEST(ReferenceTo, ReadsTheObjectsIdentity) {
  const Json pod = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"namespace", "ns"}, {"name", "p"}, {"uid", "u"}}}};
  const ObjectReference reference = ReferenceTo(pod);
  EXPECT_EQ(reference.api_version, "v1");
  EXPECT_EQ(reference.kind, "Pod");
  EXPECT_EQ(reference.ns, "ns");
  EXPECT_EQ(reference.name, "p");
  EXPECT_EQ(reference.uid, "u");
}

}  // namespace
}  // namespace zhisuan::kube
