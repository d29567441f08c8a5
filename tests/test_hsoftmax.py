"""Hierarchical softmax: gradients vs finite differences, a distribution over the leaves,
word2vec.c's update, padding, stability, and a tiny skip-gram that learns with it.

Gradient checks run in float64 with central differences (h = 1e-5); a correct smooth layer
scores ~1e-9 or better, so every check asserts rel_error < 1e-7.
"""

import copy

import numpy as np
import pytest

from minilm.data.huffman import huffman_tree
from minilm.errors import MinilmError
from minilm.gradcheck import densify, numerical_gradient, rel_error
from minilm.layers.core import embedding_backward_rows, embedding_forward, sigmoid
from minilm.layers.hsoftmax import hsoftmax_backward, hsoftmax_forward, hsoftmax_log_prob
from minilm.optim import SGD

TOL = 1e-7  # max relative error for float64 central differences

COUNTS = np.array([40, 25, 25, 12, 9, 9, 5, 3, 2, 2, 1, 1])  # V = 12, paths of length 2..6


def _problem(targets, counts=COUNTS, D=5, seed=0, scale=1.0):
    """h (N, D), W_node (V-1, D) float64 and the targets' paths from the Huffman tree."""
    rng = np.random.default_rng(seed)
    tree = huffman_tree(counts)
    h = rng.standard_normal((len(targets), D))
    W_node = scale * rng.standard_normal((tree.num_nodes, D))
    return h, W_node, *tree.paths(np.asarray(targets))


def _check_grads(h, W_node, points, codes, lengths, dloss=1.0):
    """Relative errors of dh and dW_node (sparse, densified) against central differences."""
    _, cache = hsoftmax_forward(h, W_node, points, codes, lengths)
    dh, (node_ids, dW_rows) = hsoftmax_backward(cache, dloss)
    assert np.all(np.diff(node_ids) > 0)  # unique and sorted, as minilm/optim.py wants

    def f():
        return dloss * hsoftmax_forward(h, W_node, points, codes, lengths)[0]

    num_h, num_W = numerical_gradient(f, h), numerical_gradient(f, W_node)
    return rel_error(dh, num_h), rel_error(densify((node_ids, dW_rows), W_node.shape), num_W)


@pytest.mark.parametrize(
    "targets",
    [
        [0, 3, 11, 3, 7, 0, 10],  # repeated targets; every path shares the root
        [10],  # batch of 1, a long path
        [0],  # batch of 1, the shortest path
        list(range(12)),  # every word: every node, each several times
    ],
)
def test_gradients(targets):
    err_h, err_W = _check_grads(*_problem(targets))
    assert err_h < TOL and err_W < TOL, (err_h, err_W)


def test_gradients_paths_of_length_one():
    # V = 2: a single inner node (the root), each path one decision long
    h, W_node, points, codes, lengths = _problem([0, 1, 1, 0, 1], counts=np.array([3, 1]))
    assert lengths.tolist() == [1] * 5 and W_node.shape == (1, 5)
    err_h, err_W = _check_grads(h, W_node, points, codes, lengths)
    assert err_h < TOL and err_W < TOL, (err_h, err_W)


def test_gradients_with_padding_and_upstream_scale():
    # full-width rows of the tree (padding inside the batch's longest path too), garbage in
    # the padding, and dloss != 1: the gradient of dloss * L
    rng = np.random.default_rng(3)
    tree = huffman_tree(COUNTS)
    targets = np.array([0, 1, 0, 5])  # short paths, padded to the tree's width (6)
    points, codes = tree.points[targets].copy(), tree.codes[targets].copy()
    lengths = tree.lengths[targets]
    pad = np.arange(points.shape[1]) >= lengths[:, None]
    points[pad] = rng.integers(0, tree.num_nodes, pad.sum())
    codes[pad] = rng.integers(0, 2, pad.sum())
    h = rng.standard_normal((4, 5))
    W_node = rng.standard_normal((tree.num_nodes, 5))
    err_h, err_W = _check_grads(h, W_node, points, codes, lengths, dloss=0.37)
    assert err_h < TOL and err_W < TOL, (err_h, err_W)


def test_padding_counts_nothing():
    rng = np.random.default_rng(4)
    h, W_node, points, codes, lengths = _problem([0, 2, 9, 1])
    wide_points = np.concatenate([points, rng.integers(0, 11, (4, 3))], axis=1)
    wide_codes = np.concatenate([codes, rng.integers(0, 2, (4, 3)).astype(np.int8)], axis=1)
    pad = np.arange(points.shape[1]) >= lengths[:, None]
    wide_points[:, : points.shape[1]][pad] = 10  # node 10 = the root: on every path
    wide_codes[:, : points.shape[1]][pad] = 1
    loss, cache = hsoftmax_forward(h, W_node, points, codes, lengths)
    wide_loss, wide_cache = hsoftmax_forward(h, W_node, wide_points, wide_codes, lengths)
    assert wide_loss == pytest.approx(loss, rel=1e-14)
    dh, (ids, rows) = hsoftmax_backward(cache)
    wide_dh, (wide_ids, wide_rows) = hsoftmax_backward(wide_cache)
    assert np.allclose(wide_dh, dh, rtol=1e-14, atol=0)
    assert np.array_equal(wide_ids, ids) and np.allclose(wide_rows, rows, rtol=1e-14, atol=0)
    # only nodes on the real paths are touched
    on_path = np.unique(points[np.arange(points.shape[1]) < lengths[:, None]])
    assert np.array_equal(ids, on_path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_over_all_leaves_sum_to_one(seed):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.integers(1, 100, 37))[::-1].copy()
    tree = huffman_tree(counts)
    V = counts.size
    W_node = 2.0 * rng.standard_normal((V - 1, 8))  # far from uniform
    h = np.repeat(rng.standard_normal((1, 8)), V, axis=0)  # (V, D): one h for every word
    log_p = hsoftmax_log_prob(h, W_node, tree.points, tree.codes, tree.lengths)  # (V,)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)
    assert np.exp(log_p).max() > 5 / V  # not the uniform distribution by accident
    # the loss is the summed negative log-probability of the targets
    loss, _ = hsoftmax_forward(h, W_node, tree.points, tree.codes, tree.lengths)
    assert loss == pytest.approx(-log_p.sum(), rel=1e-12)


def test_initial_loss_is_path_length_ln2():
    # word2vec.c initialises syn1 to zeros: every decision is 1/2, a word costs L(w) ln 2
    h, W_node, points, codes, lengths = _problem([0, 4, 11, 11])
    loss, _ = hsoftmax_forward(h, np.zeros_like(W_node), points, codes, lengths)
    assert loss == pytest.approx(lengths.sum() * np.log(2), rel=1e-14)


def test_one_step_matches_word2vec_c_update():
    # word2vec.c, hierarchical softmax for one (input vector h, target word) pair:
    #   for d < codelen: f = σ(h · syn1[point[d]]); g = (1 - code[d] - f) * alpha;
    #                    neu1e += g * syn1[point[d]]; syn1[point[d]] += g * h
    # then the input vector gets neu1e. A path never repeats a node, so the in-loop update of
    # syn1 does not feed back: one SGD step on our gradient must give the same numbers.
    alpha = 0.025
    h, W_node, points, codes, lengths = _problem([9], scale=0.3)
    syn1, neu1e = W_node.copy(), np.zeros(h.shape[1])
    for d in range(lengths[0]):
        node = points[0, d]
        f = sigmoid(h[0] @ syn1[node])
        assert abs(h[0] @ syn1[node]) < 6  # inside word2vec.c's MAX_EXP: no node skipped
        g = (1 - codes[0, d] - f) * alpha
        neu1e += g * syn1[node]
        syn1[node] += g * h[0]
    _, cache = hsoftmax_forward(h, W_node, points, codes, lengths)
    dh, (ids, rows) = hsoftmax_backward(cache)
    assert np.allclose(-alpha * dh[0], neu1e, rtol=1e-12, atol=1e-15)
    stepped = W_node.copy()
    stepped[ids] -= alpha * rows
    assert np.allclose(stepped, syn1, rtol=1e-12, atol=1e-15)
    assert not np.allclose(syn1, W_node)  # the update did something


def test_stable_for_huge_scores():
    h, W_node, points, codes, lengths = _problem([0, 5, 11], scale=1e4)
    loss, cache = hsoftmax_forward(h, W_node, points, codes, lengths)
    dh, (_, rows) = hsoftmax_backward(cache)
    assert np.isfinite(loss) and loss > 1e3  # some decisions are confidently wrong
    assert np.all(np.isfinite(dh)) and np.all(np.isfinite(rows))
    assert np.all(np.isfinite(hsoftmax_log_prob(h, W_node, points, codes, lengths)))


def test_backward_is_pure_and_dtype_follows_input():
    h, W_node, points, codes, lengths = _problem([1, 2, 3])
    _, cache = hsoftmax_forward(h, W_node, points, codes, lengths)
    saved = copy.deepcopy(cache)
    first, second = hsoftmax_backward(cache, 2.0), hsoftmax_backward(cache, 2.0)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1][1], second[1][1])
    for a, b in zip(cache, saved, strict=True):
        assert np.array_equal(a, b)
    loss32, cache32 = hsoftmax_forward(
        h.astype(np.float32), W_node.astype(np.float32), points, codes, lengths
    )
    dh32, (_, rows32) = hsoftmax_backward(cache32, np.float64(0.5))  # a float64 scale too
    assert isinstance(loss32, float)
    assert dh32.dtype == np.float32 and rows32.dtype == np.float32


def test_empty_batch():
    h, W_node = np.zeros((0, 5)), np.ones((11, 5))
    empty = np.zeros((0, 0), dtype=np.int64)
    loss, cache = hsoftmax_forward(h, W_node, empty, empty, np.zeros(0, dtype=np.int64))
    dh, (ids, rows) = hsoftmax_backward(cache)
    assert loss == 0.0 and dh.shape == (0, 5) and ids.shape == (0,) and rows.shape == (0, 5)


def test_bad_input():
    h, W_node, points, codes, lengths = _problem([0, 9])
    with pytest.raises(MinilmError, match="node ids"):
        hsoftmax_forward(h, W_node, points + 11, codes, lengths)
    with pytest.raises(MinilmError, match="lengths"):
        hsoftmax_forward(h, W_node, points, codes, lengths + points.shape[1])
    with pytest.raises(MinilmError, match="points"):
        hsoftmax_forward(h, W_node, points[:1], codes[:1], lengths)
    with pytest.raises(MinilmError, match="W_node"):
        hsoftmax_forward(h, W_node[:, :3], points, codes, lengths)
    with pytest.raises(MinilmError, match="integer"):
        hsoftmax_forward(h, W_node, points.astype(float), codes, lengths)


def _topic_corpus(rng, topics=4, per_topic=5, sentences=300, length=8):
    """Sentences that each draw their words from one topic: a word predicts its topic-mates."""
    topic = rng.integers(0, topics, sentences)  # (S,)
    words = topic[:, None] * per_topic + rng.integers(0, per_topic, (sentences, length))
    return words  # (S, T) word ids, V = topics * per_topic


def _skipgram_pairs(words, window=2):
    """(context, centre) for every pair at distance 1..window inside a sentence."""
    pairs = [
        np.stack([words[:, :-d].ravel(), words[:, d:].ravel()], axis=1)
        for d in range(1, window + 1)
    ]
    pairs = np.concatenate(pairs + [p[:, ::-1] for p in pairs])  # both directions
    return pairs[:, 0], pairs[:, 1]


def test_skipgram_with_hierarchical_softmax_learns():
    # h = W_in[context] (word2vec.c's skip-gram input), target = centre, plain SGD on the
    # summed loss: the loss per pair falls from ~ln V towards ln 5 (the 5 words of a topic are
    # equally likely), and each word's nearest neighbour ends up in its own topic
    rng = np.random.default_rng(0)
    words = _topic_corpus(rng)
    context, centre = _skipgram_pairs(words)
    V, D, per_topic = 20, 10, 5
    tree = huffman_tree(np.bincount(words.ravel(), minlength=V))
    params = {
        "W_in": (rng.random((V, D)) - 0.5) / D,  # word2vec.c's init
        "W_node": np.zeros((V - 1, D)),  # word2vec.c's syn1
    }
    opt = SGD(lr=0.05)

    def mean_loss():
        h = params["W_in"][context]
        return hsoftmax_forward(h, params["W_node"], *tree.paths(centre))[0] / centre.size

    before = mean_loss()
    for _ in range(8):  # epochs
        order = rng.permutation(centre.size)
        for batch in np.array_split(order, centre.size // 32):
            h, embed_cache = embedding_forward(context[batch], params["W_in"])
            loss, cache = hsoftmax_forward(h, params["W_node"], *tree.paths(centre[batch]))
            dh, dW_node = hsoftmax_backward(cache)
            opt.step(params, {"W_in": embedding_backward_rows(dh, embed_cache), "W_node": dW_node})
    after = mean_loss()
    assert before == pytest.approx(np.log(V), abs=0.15)  # Huffman paths of a near-uniform V
    assert after < np.log(per_topic) + 0.15 < before - 1.0, (before, after)
    unit = params["W_in"] / np.linalg.norm(params["W_in"], axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    assert np.all(nearest // per_topic == np.arange(V) // per_topic)


def test_cbow_composition_gradients():
    # CBOW: h = mean of the context words' input vectors (a mask marks the real ones), the
    # target is the centre word. The layer's dh reaches each context word as dh / |C|.
    rng = np.random.default_rng(5)
    V, D = 12, 4
    tree = huffman_tree(COUNTS)
    W_in, W_node = rng.standard_normal((V, D)), rng.standard_normal((V - 1, D))
    ctx = np.array([[1, 2, 1, 4], [0, 0, 3, 7], [5, 9, 9, 9]])  # (N, C), repeats on purpose
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)
    centre = np.array([3, 11, 0])
    weight = mask / mask.sum(axis=1, keepdims=True)  # (N, C) 1/|C| on real context words

    def loss_and_grads():
        h = np.einsum("nc,ncd->nd", weight, W_in[ctx])  # (N, D)
        loss, cache = hsoftmax_forward(h, W_node, *tree.paths(centre))
        dh, dW_node = hsoftmax_backward(cache)
        dW_in = np.zeros_like(W_in)
        np.add.at(dW_in, ctx, weight[:, :, None] * dh[:, None, :])
        return loss, dW_in, densify(dW_node, W_node.shape)

    _, dW_in, dW_node = loss_and_grads()
    num_in = numerical_gradient(lambda: loss_and_grads()[0], W_in)
    num_node = numerical_gradient(lambda: loss_and_grads()[0], W_node)
    assert rel_error(dW_in, num_in) < TOL and rel_error(dW_node, num_node) < TOL
