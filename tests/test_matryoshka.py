"""Matryoshka InfoNCE: the sum over nested prefixes, its gradient, and the contrastive hook."""

from __future__ import annotations

import numpy as np
import pytest

from minilm.errors import MinilmError
from minilm.gradcheck import numerical_gradient, rel_error
from minilm.layers.losses import info_nce
from minilm.layers.matryoshka import matryoshka_info_nce, parse_dims


@pytest.mark.parametrize("N,symmetric", [(1, True), (5, True), (5, False)])
def test_gradient_float64(N, symmetric):
    rng = np.random.default_rng(N)
    a, b = rng.normal(size=(N, 6)), rng.normal(size=(N, 6))
    b[-1] = a[0]  # a repeated vector
    dims = (2, 4, 6)
    _, da, db = matryoshka_info_nce(a, b, dims, 0.5, symmetric)
    num_a = numerical_gradient(lambda: matryoshka_info_nce(a, b, dims, 0.5, symmetric)[0], a)
    num_b = numerical_gradient(lambda: matryoshka_info_nce(a, b, dims, 0.5, symmetric)[0], b)
    assert rel_error(da, num_a) < 1e-7 and rel_error(db, num_b) < 1e-7


def test_is_the_sum_of_prefix_losses_and_leaves_tail_columns_without_gradient():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 8)), rng.normal(size=(4, 8))
    loss, da, _ = matryoshka_info_nce(a, b, (2, 4))
    expected = info_nce(a[:, :2], b[:, :2])[0] + info_nce(a[:, :4], b[:, :4])[0]
    assert loss == pytest.approx(expected)
    assert not da[:, 4:].any()  # dimensions past the largest prefix get nothing
    full = matryoshka_info_nce(a, b, (8,))
    assert full[0] == pytest.approx(info_nce(a, b)[0])
    with pytest.raises(MinilmError):
        matryoshka_info_nce(a, b, (4, 16))


def test_parse_dims():
    assert parse_dims("8,16,32,64") == (8, 16, 32, 64)
    for bad in ("16,8", "0,4", "a,b", ""):
        with pytest.raises(MinilmError):
            parse_dims(bad)


def test_contrastive_model_with_matryoshka_gradient():
    from minilm.gradcheck import check_loss
    from minilm.models import contrastive
    from minilm.models.encoder import Config, init_params

    cfg = Config(9, max_len=5, dim=8, n_layers=1, n_heads=2, ffn=8, dropout=0.0, dtype="float64")
    rng = np.random.default_rng(2)
    params = {  # random, not init-scale weights: every path carries a gradient well above 0
        k: v + 0.3 * rng.normal(size=v.shape) for k, v in init_params(cfg, rng).items()
    }
    ids = rng.integers(3, 9, size=(4, 5))
    pad = np.zeros((4, 5), dtype=bool)
    pad[1, 3:] = True
    batch = {"inputs": ids, "pad_mask": pad}

    def loss_fn(p, b):
        return contrastive.loss_and_grads(p, b, cfg, temperature=0.5, matryoshka=(2, 4, 8))

    errors = check_loss(loss_fn, params, batch)
    errors.pop("out_bias", None)  # the unused LM head: exactly 0 both ways
    # 1e-6 as tests/test_transformer.py's encoder checks: layer norm and softmax in float64
    assert max(errors.values()) < 1e-6, errors
