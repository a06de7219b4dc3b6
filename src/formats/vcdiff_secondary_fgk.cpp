// xdelta3's FGK secondary compressor (id 16): adaptive Huffman coding after
// Knuth, "Dynamic Huffman Coding" (J. Algorithms 6, 1985), in the variant
// xdelta3 implements. The model starts empty and learns from every byte;
// its state carries over from one section of a kind to the next.
//
// Coding of one byte, bits LSB-first per input byte: the path from the
// root to the byte's leaf (0 = left, 1 = right). A byte not seen before is
// coded as the path to the zero-weight leaf followed by its index among the
// unseen bytes in e (or e+1) bits, most significant first, where
// unseen = 2^e + r (e+1 bits when r != 0; none for the last unseen byte).
// After each byte the tree is updated (sibling property kept by moving the
// node to the front of its weight block, then promoting it).
//
// Nodes 0..255 are the byte leaves; internal nodes are taken from 256.. in
// order. While a leaf has weight 0, its left_child/right_child link the
// list of unseen bytes. Each node's `block` names the block of equal-weight
// nodes it belongs to, whose leader is its rightmost member.
#include <array>
#include <string>

#include "bpatch/error.hpp"
#include "formats/vcdiff_secondary.hpp"

namespace bpatch::vcdiff {
namespace {

constexpr int kAlphabet = 256;
constexpr int kNodes = 2 * kAlphabet - 1;
constexpr int kBlocks = 2 * kNodes;
constexpr int kNil = -1;

[[noreturn]] void fail(const std::string& why) { throw Error(Errc::bad_patch, "", "fgk: " + why); }

struct Node {
  uint32_t weight = 0;
  int parent = kNil, left_child = kNil, right_child = kNil;
  int left = kNil, right = kNil;  // neighbours in weight order
  int block = kNil;
};

class FgkModel {
 public:
  FgkModel() {
    zero_count_ = kAlphabet + 2;
    factor_remaining();
    factor_remaining();
    for (int b = 0; b < kBlocks; ++b) block_[b] = b + 1 < kBlocks ? b + 1 : kNil;
    free_block_ = 0;
    for (int i = 0; i < kAlphabet; ++i) {
      Node& n = nodes_[i];
      n.right_child = i < kAlphabet - 1 ? i + 1 : kNil;
      n.left_child = i >= 1 ? i - 1 : kNil;
    }
  }

  // Feeds one bit; true when a whole symbol has been received.
  bool decode_bit(unsigned b) {
    if (node(decode_ptr_).weight == 0) {
      const unsigned need = zero_rem_ == 0 ? zero_exp_ : zero_exp_ + 1;
      if (depth_ >= bits_.size()) fail("corrupt model state");
      bits_[depth_++] = static_cast<uint8_t>(b);
      return depth_ >= need;
    }
    decode_ptr_ = b ? node(decode_ptr_).right_child : node(decode_ptr_).left_child;
    const Node& n = node(decode_ptr_);
    if (n.left_child == kNil) return n.weight != 0 || zero_count_ == 1;
    return false;
  }

  // The symbol just received; updates the model.
  uint8_t decode_symbol() {
    int elt = decode_ptr_;
    if (node(decode_ptr_).weight == 0) {
      unsigned n = 0;
      for (unsigned i = 0; i < depth_; ++i) n = (n << 1) | bits_[i];
      elt = nth_zero(n);
    }
    depth_ = 0;
    if (elt < 0 || elt >= kAlphabet) fail("corrupt model state");
    update_tree(elt);
    decode_ptr_ = root_;
    return static_cast<uint8_t>(elt);
  }

 private:
  Node& node(int i) {
    if (i < 0 || i >= kNodes) fail("corrupt model state");
    return nodes_[i];
  }
  int& leader(int b) {
    if (b < 0 || b >= kBlocks) fail("corrupt model state");
    return block_[b];
  }

  void factor_remaining() {
    unsigned i = --zero_count_;
    zero_exp_ = 0;
    while (i > 1) {
      ++zero_exp_;
      i >>= 1;
    }
    zero_rem_ = zero_count_ - (1u << zero_exp_);
  }

  int nth_zero(unsigned n) {
    int r = remaining_zeros_;
    for (; n != 0 && node(r).right_child != kNil; --n) r = node(r).right_child;
    return r;
  }

  int make_block(int lead) {
    const int b = free_block_;
    if (b == kNil) fail("corrupt model state");
    free_block_ = block_[b];
    block_[b] = lead;
    return b;
  }
  void free_block(int b) {
    leader(b) = free_block_;
    free_block_ = b;
  }

  void update_tree(int n) {
    int incr = node(n).weight == 0 ? increase_zero_weight(n) : n;
    while (incr != root_) {
      move_right(incr);
      promote(incr);
      node(incr).weight += 1;
      incr = node(incr).parent;
    }
    node(root_).weight += 1;
  }

  // Swaps `fwd` with the leader of its block (unless that is itself or its
  // parent), keeping the weight-ordered list and the tree consistent.
  void move_right(int fwd) {
    const int back = leader(node(fwd).block);
    if (fwd == back || node(fwd).parent == back || node(fwd).weight == 0) return;
    Node& f = node(fwd);
    Node& k = node(back);
    node(k.right).left = fwd;
    if (f.left != kNil) node(f.left).right = back;
    int tmp = f.right;
    f.right = k.right;
    if (tmp == back) {
      k.right = fwd;
    } else {
      node(tmp).left = back;
      k.right = tmp;
    }
    tmp = k.left;
    k.left = f.left;
    if (tmp == fwd) {
      f.left = back;
    } else {
      node(tmp).right = fwd;
      f.left = tmp;
    }
    Node& fp = node(f.parent);
    int& fwd_slot = fp.right_child == fwd ? fp.right_child : fp.left_child;
    Node& kp = node(k.parent);
    int& back_slot = kp.right_child == back ? kp.right_child : kp.left_child;
    std::swap(f.parent, k.parent);
    std::swap(fwd_slot, back_slot);
    leader(f.block) = fwd;
  }

  // Moves `n`, now its block's leader, into the next block up.
  void promote(int n) {
    Node& x = node(n);
    const int my_right = x.right;
    const int my_left = x.left;
    const int cur_block = x.block;
    if (x.weight == 0) return;
    if (my_left == x.right_child && x.left_child != kNil && node(x.left_child).weight == 0) {
      if (x.weight == node(my_right).weight - 1 && my_right != root_) {
        free_block(cur_block);
        x.block = node(my_right).block;
        node(my_left).block = node(my_right).block;
      }
      return;
    }
    if (my_left == remaining_zeros_) return;
    if (node(my_left).block == cur_block)
      leader(cur_block) = my_left;
    else
      free_block(cur_block);
    if (x.weight == node(my_right).weight - 1 && my_right != root_)
      x.block = node(my_right).block;
    else
      x.block = make_block(n);
  }

  // Takes byte n out of the unseen list and gives it a place in the tree.
  int increase_zero_weight(int n) {
    Node& z = node(n);
    if (zero_count_ == 1) {  // the last unseen byte takes the zero leaf's place
      z.right_child = kNil;
      z.block = node(z.right).weight == 1 ? node(z.right).block : make_block(n);
      remaining_zeros_ = kNil;
      return n;
    }
    const int zero_ptr = remaining_zeros_;
    if (free_node_ >= kNodes) fail("corrupt model state");
    const int ni = free_node_++;
    Node& in = nodes_[ni];
    in.parent = node(zero_ptr).parent;
    in.right = node(zero_ptr).right;
    in.weight = 0;
    in.right_child = n;
    in.left = n;
    if (remaining_zeros_ == root_) {  // the first byte coded
      root_ = ni;
      z.block = make_block(n);
      in.block = make_block(ni);
    } else {
      node(in.right).left = ni;
      Node& p = node(node(zero_ptr).parent);
      (p.right_child == zero_ptr ? p.right_child : p.left_child) = ni;
      in.block = node(in.right).weight == 1 ? node(in.right).block : make_block(ni);
      z.block = in.block;
    }
    eliminate_zero(n);
    in.left_child = remaining_zeros_;
    z.right = ni;
    z.left = remaining_zeros_;
    z.parent = ni;
    z.left_child = kNil;
    z.right_child = kNil;
    node(remaining_zeros_).parent = ni;
    node(remaining_zeros_).right = n;
    return n;
  }

  void eliminate_zero(int n) {
    if (zero_count_ == 1) return;
    factor_remaining();
    Node& z = node(n);
    if (z.left_child == kNil) {
      remaining_zeros_ = node(remaining_zeros_).right_child;
      node(remaining_zeros_).left_child = kNil;
    } else if (z.right_child == kNil) {
      node(z.left_child).right_child = kNil;
    } else {
      node(z.right_child).left_child = z.left_child;
      node(z.left_child).right_child = z.right_child;
    }
  }

  std::array<Node, kNodes> nodes_{};
  std::array<int, kBlocks> block_{};  // a block's leader, or next free block
  int free_block_ = 0;
  int free_node_ = kAlphabet;
  int root_ = 0;
  int decode_ptr_ = 0;
  int remaining_zeros_ = 0;
  unsigned zero_count_ = 0, zero_exp_ = 0, zero_rem_ = 0;
  std::array<uint8_t, 32> bits_{};
  unsigned depth_ = 0;
};

class FgkDecoder final : public SecondaryDecoder {
 public:
  void decode(std::span<const uint8_t> in, std::span<uint8_t> out) override {
    if (failed_) fail("an earlier section of this kind was corrupt");
    failed_ = true;
    size_t o = 0;
    for (size_t i = 0; i < in.size() && o < out.size(); ++i) {
      const unsigned byte = in[i];
      for (unsigned mask = 1; mask != 0x100; mask <<= 1) {
        if (!model_.decode_bit((byte & mask) ? 1u : 0u)) continue;
        out[o++] = model_.decode_symbol();
        if (o == out.size()) {
          if (i + 1 != in.size()) fail("section has unused bytes after its data");
          // xdelta3 pads the last byte with zero bits and checks them.
          if ((byte & ~((mask << 1) - 1) & 0xFF) != 0) fail("non-zero padding bits");
          failed_ = false;
          return;
        }
      }
    }
    fail("section ends early");
  }

 private:
  FgkModel model_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<SecondaryDecoder> make_fgk_decoder() { return std::make_unique<FgkDecoder>(); }

}  // namespace bpatch::vcdiff
