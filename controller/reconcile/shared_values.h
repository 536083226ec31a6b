#pragma once
// A vector with value semantics whose elements are shared between copies until one of them is
// written to (copy-on-write, element by element). Every reconcile takes a ClusterSnapshot of the
// whole cluster; with plain vectors that copied every Node and ComputeNode, 15 ms per reconcile at
// 5,000 nodes (bench/controller), and a burst of pools is one reconcile after another. With shared
// elements the copy is one pointer per object, and the cache replaces an element instead of
// changing it, so a snapshot already taken never sees a later event.
//
// Reading looks like a vector (range-for, size, operator[]). Writing through the non-const
// operator[] or iterator first gives this copy its own element, so a test may build a snapshot,
// copy it and edit either copy without touching the other.

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

namespace zhisuan::controller {

template <typename T>
class SharedValues {
  // Elements are created by make_shared<T> (never as const objects), so writing through the
  // pointer once this copy is its only owner is well-defined; see Own().
  using Slot = std::shared_ptr<const T>;
  using Slots = std::vector<Slot>;

  template <bool kMutable>
  class Iterator {
    using Base =
        std::conditional_t<kMutable, typename Slots::iterator, typename Slots::const_iterator>;

   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = std::conditional_t<kMutable, T&, const T&>;
    using pointer = std::conditional_t<kMutable, T*, const T*>;

    Iterator() = default;
    explicit Iterator(Base base) : base_(base) {}
    operator Iterator<false>() const  // NOLINT: mutable converts to const, as for vectors
        requires kMutable {
      return Iterator<false>(typename Slots::const_iterator(base_));
    }

    reference operator*() const {
      if constexpr (kMutable) {
        return Own(*base_);
      } else {
        return **base_;
      }
    }
    pointer operator->() const { return &**this; }
    reference operator[](difference_type n) const { return *(*this + n); }
    Iterator& operator++() { return ++base_, *this; }
    Iterator operator++(int) { return Iterator(base_++); }
    Iterator& operator--() { return --base_, *this; }
    Iterator operator--(int) { return Iterator(base_--); }
    Iterator& operator+=(difference_type n) { return base_ += n, *this; }
    Iterator& operator-=(difference_type n) { return base_ -= n, *this; }
    friend Iterator operator+(Iterator it, difference_type n) { return it += n; }
    friend Iterator operator+(difference_type n, Iterator it) { return it += n; }
    friend Iterator operator-(Iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(const Iterator& a, const Iterator& b) {
      return a.base_ - b.base_;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.base_ == b.base_; }
    friend auto operator<=>(const Iterator& a, const Iterator& b) { return a.base_ <=> b.base_; }

   private:
    Base base_{};
  };

 public:
  using value_type = T;
  using size_type = std::size_t;
  using iterator = Iterator<true>;
  using const_iterator = Iterator<false>;

  SharedValues() = default;
  SharedValues(std::initializer_list<T> values) {
    slots_.reserve(values.size());
    for (const T& value : values) push_back(value);
  }

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  void reserve(size_t n) { slots_.reserve(n); }
  void clear() { slots_.clear(); }

  void push_back(T value) { slots_.push_back(std::make_shared<T>(std::move(value))); }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    slots_.push_back(std::make_shared<T>(std::forward<Args>(args)...));
    return Own(slots_.back());
  }
  // Adds an element another SharedValues or a cache already holds, without copying it. It must
  // have been made by std::make_shared<T> and must never be changed in place by its other owners.
  void push_back_shared(std::shared_ptr<const T> value) { slots_.push_back(std::move(value)); }

  const T& operator[](size_t i) const { return *slots_[i]; }
  T& operator[](size_t i) { return Own(slots_[i]); }
  const T& front() const { return *slots_.front(); }
  const T& back() const { return *slots_.back(); }
  T& back() { return Own(slots_.back()); }

  const_iterator begin() const { return const_iterator(slots_.cbegin()); }
  const_iterator end() const { return const_iterator(slots_.cend()); }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  iterator begin() { return iterator(slots_.begin()); }
  iterator end() { return iterator(slots_.end()); }

  // std::erase_if for this container: removes the elements `pred` holds for; returns how many.
  template <typename Predicate>
  size_t EraseIf(Predicate pred) {
    return std::erase_if(slots_, [&pred](const Slot& slot) { return pred(*slot); });
  }

 private:
  // The element in `slot`, first copied when another SharedValues (or the cache) shares it.
  static T& Own(Slot& slot) {
    if (slot.use_count() != 1) slot = std::make_shared<T>(*slot);
    return const_cast<T&>(*slot);  // made non-const by make_shared<T>; this copy is the owner
  }

  Slots slots_;
};

}  // namespace zhisuan::controller
