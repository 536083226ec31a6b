#include "kube/workqueue.h"

#include <algorithm>

namespace zhisuan::kube {

WorkQueue::WorkQueue(WorkQueueOptions options, ClockPtr clock)
    : options_(options),
      clock_(std::move(clock)),
      backoff_(options.per_key_backoff),
      bucket_tokens_(options.overall_burst),
      bucket_updated_(clock_->Now()) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  // In process: Done() queues it again, so no second worker sees it meanwhile.
  if (processing_.count(key)) return;
  queue_.push_back(key);
  ready_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfterLocked(const std::string& key, SteadyTime ready_at) {
  if (shutting_down_) return;
  if (ready_at <= clock_->Now()) {
    AddLocked(key);
    return;
  }
  auto [it, inserted] = delayed_ready_at_.try_emplace(key, ready_at);
  if (!inserted) {
    if (it->second <= ready_at) return;  // already due sooner
    it->second = ready_at;
  }
  delayed_.emplace(ready_at, delayed_sequence_++, key);
  // A waiting Get() may now have an earlier deadline.
  ready_.notify_all();
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard lock(mu_);
  AddAfterLocked(key, clock_->Now() + delay);
}

std::chrono::nanoseconds WorkQueue::BucketDelayLocked(SteadyTime now) {
  if (options_.overall_qps <= 0) return std::chrono::nanoseconds(0);
  const double elapsed = std::chrono::duration<double>(now - bucket_updated_).count();
  bucket_updated_ = now;
  bucket_tokens_ = std::min<double>(options_.overall_burst,
                                    bucket_tokens_ + std::max(0.0, elapsed) * options_.overall_qps);
  // Reserve a token even when none is left (the balance goes negative), as golang's
  // rate.Limiter.Reserve does: the caller is told how long until its token exists.
  bucket_tokens_ -= 1.0;
  if (bucket_tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(-bucket_tokens_ / options_.overall_qps));
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  const SteadyTime now = clock_->Now();
  const int attempt = requeues_[key]++;
  const std::chrono::nanoseconds per_key = backoff_.Delay(attempt);
  AddAfterLocked(key, now + std::max(per_key, BucketDelayLocked(now)));
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  requeues_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = requeues_.find(key);
  return it == requeues_.end() ? 0 : it->second;
}

std::optional<SteadyTime> WorkQueue::PromoteReadyLocked(SteadyTime now) {
  while (!delayed_.empty()) {
    const auto& [ready_at, sequence, key] = delayed_.top();
    auto current = delayed_ready_at_.find(key);
    if (current == delayed_ready_at_.end() || current->second != ready_at) {
      delayed_.pop();  // superseded by an earlier AddAfter, or already promoted
      continue;
    }
    if (ready_at > now) return ready_at;
    std::string ready_key = key;
    delayed_ready_at_.erase(current);
    delayed_.pop();
    AddLocked(ready_key);
  }
  return std::nullopt;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock lock(mu_);
  while (true) {
    const SteadyTime now = clock_->Now();
    const std::optional<SteadyTime> next_delayed = PromoteReadyLocked(now);
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      processing_.insert(key);
      dirty_.erase(key);
      return key;
    }
    if (shutting_down_) return std::nullopt;
    if (next_delayed) {
      ready_.wait_for(lock,
                      std::min<std::chrono::nanoseconds>(*next_delayed - now, options_.clock_poll));
    } else {
      ready_.wait(lock);
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    ready_.notify_one();
  }
  if (processing_.empty()) drained_.notify_all();
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  delayed_ = {};
  delayed_ready_at_.clear();
  ready_.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
  delayed_ = {};
  delayed_ready_at_.clear();
  ready_.notify_all();
  drained_.wait(lock, [&] { return processing_.empty(); });
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace zhisuan::kube
