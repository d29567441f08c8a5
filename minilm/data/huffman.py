"""word2vec.c's Huffman tree over the vocabulary, for the hierarchical softmax (`--hs`).

Hierarchical softmax (Morin & Bengio 2005; Mikolov et al. 2013, "Distributed representations of
words and phrases and their compositionality") puts the V words at the leaves of a binary tree
with V - 1 inner nodes, each holding a vector. A word's probability is the product of the binary
decisions on its path from the root (minilm/layers/hsoftmax.py). word2vec.c uses a Huffman tree
built from the word counts: frequent words get short paths, so the expected work per training
pair is the entropy of the unigram distribution in bits (~log2 of the perplexity) rather than
log2 V, and the tree is a prefix code of optimal expected length.

word2vec.c's construction (CreateBinaryTree), which `huffman_tree` follows step for step:
- the words are sorted by count, most frequent first (as a Vocab is: (-count, word));
- two queues: the leaves, read from the rarest upwards, and the inner nodes in the order they
  are made (their counts never decrease). Each of the V - 1 steps takes the two smallest heads
  - a leaf only if its count is strictly smaller than the inner node's, so ties go to the
  inner node - and makes inner node a (a = 0 .. V-2) their parent, with the sum of their counts;
- the first node taken gets bit 0, the second (the larger) bit 1;
- the root is the last node made, inner node V - 2.
A word's `codes` are the bits of the nodes on its path below the root and its `points` the inner
nodes it passes through, both read root first: at points[j] the path goes to the child with bit
codes[j]. Inner node ids 0..V-2 index the rows of the node table W_node (word2vec.c's syn1).

Shapes: V words, L the longest code (L_max). All arrays are padded to (V, L); entries beyond a
word's length are 0 (a valid node id, so a batch can gather them; a mask drops them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minilm.errors import MinilmError


@dataclass(frozen=True)
class HuffmanTree:
    """The paths of every word: codes (V, L) int8 bits, points (V, L) int64 inner nodes,
    lengths (V,) int64 - row w of codes/points is word w's path, root first, 0-padded."""

    codes: np.ndarray  # (V, L) 0/1: the branch taken at each node on the path
    points: np.ndarray  # (V, L) inner-node ids in [0, V-2]; points[w, 0] = V - 2, the root
    lengths: np.ndarray  # (V,) path length of each word (>= 1)

    @property
    def num_nodes(self) -> int:
        """V - 1 inner nodes: the rows of W_node."""
        return self.codes.shape[0] - 1

    def paths(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The paths of a batch of target words: (points (N, L'), codes (N, L'), lengths (N,)).

        targets int (N,). L' = the longest path in the batch (not the tree's L), so a batch of
        frequent words does no work on the padding of rare words' paths.
        """
        targets = np.asarray(targets)
        lengths = self.lengths[targets]  # (N,)
        L = int(lengths.max()) if lengths.size else 0
        return self.points[targets, :L], self.codes[targets, :L], lengths


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """word2vec.c's Huffman tree for words with these counts (e.g. `vocab.counts`), see above.

    counts int (V,) >= 0, V >= 2. Counts already sorted descending (a Vocab without specials, as
    word2vec.c's vocabulary is) give word2vec.c's tree exactly. Otherwise the words are ranked by
    (-count, id) first (a stable sort), which moves e.g. a special's count into its place.
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
        raise MinilmError(
            f"huffman_tree: counts have dtype {counts.dtype} and shape {counts.shape}; "
            "pass a 1-D integer array (vocab.counts)"
        )
    V = counts.size
    if V < 2:
        raise MinilmError(
            f"hierarchical softmax needs a vocabulary of at least 2 words (a tree with an inner "
            f"node), got {V}; lower --min-count or use a larger corpus"
        )
    if counts.min() < 0:
        raise MinilmError(f"huffman_tree: counts must be >= 0, got {counts.min()}")
    order = np.argsort(-counts, kind="stable")  # rank r -> word id; identity for a sorted Vocab
    parent, bit = _merge(counts[order].tolist())
    codes, points, lengths = _read_paths(parent, bit, V)
    # row r of the arrays is the word of rank r; put it at that word's id
    by_word = np.empty_like(order)
    by_word[order] = np.arange(V)
    return HuffmanTree(codes[by_word], points[by_word], lengths[by_word])


def _merge(weight: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The V - 1 merges of word2vec.c's two-queue Huffman build over counts sorted descending.

    Nodes 0..V-1 are the leaves (by rank), node V + a is the inner node made at step a.
    -> parent (2V - 2,) and bit (2V - 2,) of every node but the root (node 2V - 2).
    """
    V = len(weight)
    weight = weight + [0] * (V - 1)
    parent = np.zeros(2 * V - 2, dtype=np.int64)
    bit = np.zeros(2 * V - 2, dtype=np.int8)
    leaf, inner = V - 1, V  # the rarest unused leaf (walks down); the oldest unused inner node
    for a in range(V - 1):  # once per inner node: building the tree is not a hot path
        made = V + a  # nodes inner..made-1 exist and are unused
        picked = []
        for _ in range(2):
            # a leaf only if strictly lighter than the inner node: ties go to the inner node
            if leaf >= 0 and (inner == made or weight[leaf] < weight[inner]):
                picked.append(leaf)
                leaf -= 1
            else:
                picked.append(inner)
                inner += 1
        first, second = picked
        weight[made] = weight[first] + weight[second]
        parent[first] = parent[second] = made
        bit[second] = 1  # word2vec.c: binary[min2i] = 1
    return parent, bit


def _read_paths(
    parent: np.ndarray, bit: np.ndarray, V: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every leaf's path, root first: (codes (V, L), points (V, L), lengths (V,)).

    A parent is made after its children, so it has a larger id: one pass from the root down
    gives each node's depth. Then all V leaves climb to the root together, one level per step
    (L vectorised steps), writing each bit and parent at its depth from the root.
    """
    root = 2 * V - 2
    depth = np.zeros(2 * V - 1, dtype=np.int64)
    for node in range(root - 1, -1, -1):  # parents before children
        depth[node] = depth[parent[node]] + 1
    lengths = depth[:V].copy()
    L = int(lengths.max())
    codes = np.zeros((V, L), dtype=np.int8)
    points = np.zeros((V, L), dtype=np.int64)
    node = np.arange(V)  # (V,) each leaf's current node on its climb
    pos = lengths - 1  # (V,) where that node's bit goes: the edge into it is step depth - 1
    for _ in range(L):
        climbing = np.flatnonzero(pos >= 0)
        at, up = node[climbing], parent[node[climbing]]
        codes[climbing, pos[climbing]] = bit[at]
        points[climbing, pos[climbing]] = up - V  # inner node V + a is row a of W_node
        node[climbing] = up
        pos[climbing] -= 1
    return codes, points, lengths
