"""word2vec.c's Huffman tree: the exact construction, a valid optimal prefix code, edge cases."""

import heapq
from fractions import Fraction

import numpy as np
import pytest

from minilm.data.huffman import huffman_tree
from minilm.data.vocab import Vocab
from minilm.errors import MinilmError


def _word2vec_c_tree(counts):
    """word2vec.c's CreateBinaryTree, written out literally as an independent reference.

    counts sorted descending. Unmade nodes weigh 1e15, so a queue that runs dry is never taken;
    every word walks up its parents, then the walk is reversed (root first).
    """
    V = len(counts)
    count = list(counts) + [10**15] * V
    binary, parent = [0] * (2 * V), [0] * (2 * V)
    pos1, pos2 = V - 1, V
    for a in range(V - 1):
        picked = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                picked.append(pos1)
                pos1 -= 1
            else:
                picked.append(pos2)
                pos2 += 1
        min1, min2 = picked
        count[V + a] = count[min1] + count[min2]
        parent[min1] = parent[min2] = V + a
        binary[min2] = 1
    codes, points = [], []
    for a in range(V):
        code, point, b = [], [], a
        while True:
            code.append(binary[b])
            point.append(b)
            b = parent[b]
            if b == 2 * V - 2:
                break
        codes.append(code[::-1])
        points.append([V - 2] + [p - V for p in point[::-1][:-1]])
    return codes, points


def _rows(tree):
    """The tree as Python lists: (codes, points) of each word, padding cut off."""
    n = tree.lengths
    return (
        [tree.codes[w, : n[w]].tolist() for w in range(len(n))],
        [tree.points[w, : n[w]].tolist() for w in range(len(n))],
    )


def _huffman_optimum(counts):
    """Minimum of Σ count_w len_w over prefix codes: the sum of Huffman's merge costs (heapq)."""
    heap = [int(c) for c in counts]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def _zipf_counts(V, seed):
    """Counts sorted descending with plenty of ties, like a real vocabulary's tail."""
    rng = np.random.default_rng(seed)
    counts = np.maximum(1, (1000 / np.arange(1, V + 1) ** rng.uniform(0.8, 1.3))).astype(np.int64)
    return np.sort(counts + rng.integers(0, 3, V))[::-1].copy()


COUNT_CASES = [
    [5, 3, 2, 2, 1],
    [1, 1, 1, 1, 1, 1, 1, 1],  # all ties
    [2**k for k in range(12, -1, -1)],  # each word outweighs all rarer ones: a 12-deep comb
    [10, 0, 0, 0],  # words never seen still get a code
    [3, 3, 2, 2, 1, 1, 1],
    _zipf_counts(50, 0).tolist(),
    _zipf_counts(300, 1).tolist(),
]


@pytest.mark.parametrize("counts", COUNT_CASES)
def test_matches_word2vec_c_construction(counts):
    tree = huffman_tree(np.array(counts, dtype=np.int64))
    codes, points = _rows(tree)
    ref_codes, ref_points = _word2vec_c_tree(counts)
    assert codes == ref_codes
    assert points == ref_points
    assert tree.codes.dtype == np.int8 and tree.points.dtype == np.int64
    assert tree.codes.shape == tree.points.shape == (len(counts), tree.lengths.max())


@pytest.mark.parametrize("counts", COUNT_CASES)
def test_valid_optimal_prefix_code(counts):
    tree = huffman_tree(np.array(counts, dtype=np.int64))
    codes, points = _rows(tree)
    words = ["".join(map(str, c)) for c in codes]
    # prefix code: no word's code is a prefix of another's (sorted, a prefix sits just before)
    ordered = sorted(words)
    assert all(not b.startswith(a) for a, b in zip(ordered, ordered[1:], strict=False))
    # Kraft equality: a full binary tree, no branch wasted
    assert sum(Fraction(1, 2 ** len(c)) for c in codes) == 1
    # optimal: the expected length is the Huffman optimum, computed independently
    assert sum(c * len(w) for c, w in zip(counts, codes, strict=True)) == _huffman_optimum(counts)
    # padding beyond each length is zero
    beyond = np.arange(tree.codes.shape[1]) >= tree.lengths[:, None]
    assert not tree.codes[beyond].any() and not tree.points[beyond].any()


@pytest.mark.parametrize("counts", COUNT_CASES)
def test_points_name_the_inner_nodes(counts):
    V = len(counts)
    tree = huffman_tree(np.array(counts, dtype=np.int64))
    codes, points = _rows(tree)
    assert all(p[0] == V - 2 for p in points)  # every path starts at the root
    # the node reached by a code prefix is the same whichever word's path it is on, and the
    # V - 1 proper prefixes are exactly the inner nodes 0..V-2
    node_of = {}
    weight = np.zeros(V - 1, dtype=np.int64)
    for w, (c, p) in enumerate(zip(codes, points, strict=True)):
        for j, node in enumerate(p):
            assert node_of.setdefault(tuple(c[:j]), node) == node
            weight[node] += counts[w]
    assert sorted(node_of.values()) == list(range(V - 1))
    # word2vec.c numbers inner nodes in the order it makes them, and the merged counts grow
    assert np.all(np.diff(weight) >= 0)


def test_ties_go_to_the_inner_node_and_are_deterministic():
    # [1, 1, 1, 1]: leaves 3, 2 -> node 0 (weight 2); then leaf 1 (1) < node 0 (2), and for
    # the second pick leaf 0 (1) < node 0 (2) again -> node 1; then nodes 0, 1 -> root 2
    tree = huffman_tree(np.array([1, 1, 1, 1]))
    assert _rows(tree) == ([[1, 1], [1, 0], [0, 1], [0, 0]], [[2, 1], [2, 1], [2, 0], [2, 0]])
    # [2, 1, 1]: leaves 2, 1 -> node 0 (2); then leaf 0 (2) ties node 0 (2): the inner node
    # is taken first (bit 0), the leaf second (bit 1)
    tree = huffman_tree(np.array([2, 1, 1]))
    assert _rows(tree) == ([[1], [0, 1], [0, 0]], [[1], [1, 0], [1, 0]])
    counts = _zipf_counts(200, 3)
    a, b = huffman_tree(counts), huffman_tree(counts.copy())
    assert a.codes.tobytes() == b.codes.tobytes() and a.points.tobytes() == b.points.tobytes()


def test_two_words_and_too_few():
    tree = huffman_tree(np.array([7, 3]))
    assert tree.num_nodes == 1
    assert _rows(tree) == ([[1], [0]], [[0], [0]])  # one inner node; the rarer word is bit 0
    for counts in ([4], []):
        with pytest.raises(MinilmError, match="at least 2 words"):
            huffman_tree(np.array(counts, dtype=np.int64))


def test_bad_counts():
    with pytest.raises(MinilmError, match="integer"):
        huffman_tree(np.array([2.0, 1.0]))
    with pytest.raises(MinilmError, match="integer"):
        huffman_tree(np.array([[2, 1]]))
    with pytest.raises(MinilmError, match=">= 0"):
        huffman_tree(np.array([2, -1]))


def test_unsorted_counts_are_ranked_first():
    # a Vocab with specials: <unk> (id 0) may count anything; the tree ranks by (-count, id)
    counts = np.array([0, 9, 4, 4, 1, 7])
    order = np.argsort(-counts, kind="stable")  # [1, 5, 2, 3, 4, 0]
    tree, ranked = huffman_tree(counts), huffman_tree(counts[order])
    assert np.array_equal(tree.codes[order], ranked.codes)
    assert np.array_equal(tree.points[order], ranked.points)
    assert np.array_equal(tree.lengths[order], ranked.lengths)


def test_from_a_vocab():
    tokens = "the cat sat on the mat the end of the cat".split()
    vocab = Vocab.build(tokens, specials=())
    tree = huffman_tree(vocab.counts)
    assert _rows(tree) == _word2vec_c_tree(vocab.counts.tolist())
    assert tree.lengths[vocab.stoi["the"]] == tree.lengths.min()  # the most frequent: shortest
    with_unk = Vocab.build(tokens, specials=("<unk>",))  # <unk> counts 0: the longest code
    assert huffman_tree(with_unk.counts).lengths[0] == huffman_tree(with_unk.counts).lengths.max()


def test_paths_gather_a_batch_cut_to_its_longest():
    tree = huffman_tree(np.array([2**k for k in range(8, -1, -1)]))  # lengths 1..8, 8
    points, codes, lengths = tree.paths(np.array([0, 2, 1, 2]))
    assert lengths.tolist() == [1, 3, 2, 3]
    assert points.shape == codes.shape == (4, 3)
    assert np.array_equal(points, tree.points[[0, 2, 1, 2], :3])
    assert np.array_equal(codes, tree.codes[[0, 2, 1, 2], :3])
