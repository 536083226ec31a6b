#include "controller/reconcile/shared_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>

namespace zhisuan::controller {
namespace {

struct Item {
  std::string name;
  int value = 0;
};

TEST(SharedValues, CopiesShareElementsUntilOneIsWritten) {
  SharedValues<Item> original{{"a", 1}, {"b", 2}};
  SharedValues<Item> copy = original;
  EXPECT_EQ(&std::as_const(original)[0], &std::as_const(copy)[0]);  // shared, not copied

  copy[0].value = 10;  // the copy gets its own "a"; "b" stays shared
  EXPECT_EQ(std::as_const(original)[0].value, 1);
  EXPECT_EQ(std::as_const(copy)[0].value, 10);
  EXPECT_NE(&std::as_const(original)[0], &std::as_const(copy)[0]);
  EXPECT_EQ(&std::as_const(original)[1], &std::as_const(copy)[1]);

  // Written again, an element this copy already owns is not copied again.
  const Item* owned = &std::as_const(copy)[0];
  copy[0].value = 11;
  EXPECT_EQ(&std::as_const(copy)[0], owned);
}

TEST(SharedValues, IteratorsReadWithoutCopyingAndWriteCopyOnWrite) {
  SharedValues<Item> original{{"a", 1}, {"b", 2}, {"c", 3}};
  const SharedValues<Item> reader = original;
  int sum = 0;
  for (const Item& item : reader) sum += item.value;
  EXPECT_EQ(sum, 6);
  EXPECT_EQ(&*reader.begin(), &*std::as_const(original).begin());

  SharedValues<Item> writer = original;
  for (Item& item : writer) item.value *= 10;
  EXPECT_EQ(std::as_const(writer)[2].value, 30);
  EXPECT_EQ(std::as_const(original)[2].value, 3);

  // Random access works for the standard algorithms.
  auto found =
      std::find_if(reader.begin(), reader.end(), [](const Item& item) { return item.name == "b"; });
  ASSERT_NE(found, reader.end());
  EXPECT_EQ(found - reader.begin(), 1);
  EXPECT_EQ(found->value, 2);
  std::sort(writer.begin(), writer.end(),
            [](const Item& a, const Item& b) { return a.value > b.value; });
  EXPECT_EQ(std::as_const(writer)[0].name, "c");
  EXPECT_EQ(std::as_const(original)[0].name, "a");
}

TEST(SharedValues, SharesWhatACacheHoldsAndErasesByPredicate) {
  auto held = std::make_shared<Item>(Item{"held", 5});
  SharedValues<Item> values;
  values.push_back_shared(held);
  values.push_back({"own", 6});
  values.emplace_back(Item{"gone", 7});
  EXPECT_EQ(&std::as_const(values)[0], held.get());
  values[0].value = 50;  // the cache's object is never changed through a snapshot
  EXPECT_EQ(held->value, 5);
  EXPECT_EQ(std::as_const(values)[0].value, 50);

  EXPECT_EQ(values.EraseIf([](const Item& item) { return item.name == "gone"; }), 1u);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values.back().name, "own");
  values.clear();
  EXPECT_TRUE(values.empty());
}

}  // namespace
}  // namespace zhisuan::controller
