"""Collobert & Weston's window tagger: gradients (float64), frozen table, learns a toy task."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from minilm.gradcheck import check_loss
from minilm.models import window_tagger as wt


@pytest.mark.parametrize("N", [1, 6])
def test_gradients_with_repeated_ids(N):
    cfg = wt.Config(vocab_size=7, n_tags=3, dim=4, window=1, hidden=5)
    rng = np.random.default_rng(N)
    params = wt.init_params(cfg, rng)
    windows = rng.integers(0, 7, size=(N, 3))
    windows[0] = [2, 2, 2]  # one word three times in a window
    batch = {"windows": windows, "tags": rng.integers(0, 3, N)}
    errors = check_loss(functools.partial(wt.loss_and_grads, cfg=cfg), params, batch)
    assert max(errors.values()) < 1e-7, errors


def test_frozen_table_has_no_gradient_and_scores_match_the_forward():
    cfg = wt.Config(vocab_size=5, n_tags=2, dim=3, window=1, hidden=4, freeze_table=True)
    params = wt.init_params(cfg, np.random.default_rng(0))
    batch = {"windows": np.array([[0, 1, 2], [3, 4, 0]]), "tags": np.array([0, 1])}
    loss, grads = wt.loss_and_grads(params, batch, cfg)
    assert not grads["C"].any() and grads["W1"].any()
    s = wt.scores(params, batch["windows"])
    expected = -np.mean(s[[0, 1], [0, 1]] - np.log(np.exp(s).sum(1)))
    assert loss == pytest.approx(expected)


def test_learns_the_tag_of_the_middle_word():
    cfg = wt.Config(vocab_size=10, n_tags=2, dim=8, window=1, hidden=16)
    rng = np.random.default_rng(1)
    params = wt.init_params(cfg, rng)
    windows = rng.integers(0, 10, size=(200, 3))
    batch = {"windows": windows, "tags": (windows[:, 1] >= 5).astype(int)}
    first = wt.loss_and_grads(params, batch, cfg)[0]
    for _ in range(300):
        _, grads = wt.loss_and_grads(params, batch, cfg)
        for k in params:
            params[k] -= 0.5 * grads[k]
    assert wt.loss_and_grads(params, batch, cfg)[0] < 0.2 * first
    assert np.mean(wt.scores(params, windows).argmax(1) == batch["tags"]) > 0.95
