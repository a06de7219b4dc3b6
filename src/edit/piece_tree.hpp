// PieceTree (private to EditList): the sequence of pieces of an edit list as
// an implicit treap — a balanced binary tree ordered by position, where each
// node knows the byte length of its subtree — so that finding, cutting and
// splicing at any byte offset costs O(log pieces) instead of the O(pieces)
// of a vector (160,000 edits at random offsets: seconds, not minutes).
//
// Nodes live in one vector and refer to each other by index; freed nodes
// are reused. The priorities come from a fixed-seed generator, so the shape
// (and so the cost) does not depend on anything but the operations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edit/piece.hpp"

namespace bpatch {

class PieceTree {
 public:
  // Replaces bytes [offset, offset + erase_length) with `with` (pieces of
  // non-zero length), then merges neighbours that continue each other.
  // Precondition: offset + erase_length <= total().
  void replace(uint64_t offset, uint64_t erase_length, std::vector<Piece> with);

  uint64_t total() const { return total_of(root_); }
  size_t count() const { return count_; }

  // The pieces in order.
  std::vector<Piece> flatten() const;

  // Calls f(piece) for each piece in order, without copying them.
  template <typename F>
  void for_each(F&& f) const {
    std::vector<int32_t> stack;
    int32_t t = root_;
    while (t >= 0 || !stack.empty()) {
      while (t >= 0) {
        stack.push_back(t);
        t = at(t).left;
      }
      t = stack.back();
      stack.pop_back();
      f(at(t).piece);
      t = at(t).right;
    }
  }

 private:
  struct Node {
    Piece piece;
    uint64_t total = 0;  // bytes in this subtree
    uint32_t priority = 0;
    int32_t left = -1;
    int32_t right = -1;
  };

  uint64_t total_of(int32_t t) const { return t < 0 ? 0 : nodes_[static_cast<size_t>(t)].total; }
  Node& at(int32_t t) { return nodes_[static_cast<size_t>(t)]; }
  const Node& at(int32_t t) const { return nodes_[static_cast<size_t>(t)]; }
  int32_t make(Piece piece);
  void release(int32_t t);  // the whole subtree
  void update(int32_t t);
  int32_t merge(int32_t a, int32_t b);
  // l: the first k bytes of t, r: the rest (a piece straddling k is cut).
  void split(int32_t t, uint64_t k, int32_t& l, int32_t& r);
  // a then b, with the last piece of a and the first of b made one when
  // they continue each other.
  int32_t join(int32_t a, int32_t b);
  const Piece& first(int32_t t) const;
  const Piece& last(int32_t t) const;

  std::vector<Node> nodes_;
  std::vector<int32_t> free_;
  int32_t root_ = -1;
  size_t count_ = 0;
  uint64_t seed_ = 0x9e3779b97f4a7c15;
};

}  // namespace bpatch
