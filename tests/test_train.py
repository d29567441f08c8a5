"""The shared loop on a tiny linear regression: learning, resume bit-identity, guards, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import numpy as np
import pytest

from minilm.errors import EXIT_INTERRUPTED, MinilmError
from minilm.io import load_npz
from minilm.optim import SGD, Adam
from minilm.train import CHECKPOINT, History, Interrupted, TrainConfig, train

N, D, BATCH = 64, 3, 8  # 8 steps per epoch


class RegressionBatches:
    """y = X w* + b* + noise; each epoch a fresh shuffle drawn from (seed, epoch) only."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.X = rng.normal(size=(N, D))
        self.y = self.X @ np.array([2.0, -1.0, 0.5]) + 3.0 + 0.01 * rng.normal(size=N)
        self.steps_per_epoch = N // BATCH

    def epoch(self, epoch: int) -> Iterator[dict]:
        order = np.random.default_rng([self.seed, epoch]).permutation(N)
        for i in range(self.steps_per_epoch):
            idx = order[i * BATCH : (i + 1) * BATCH]
            yield {"X": self.X[idx], "y": self.y[idx], "n_tokens": BATCH}


def init_params(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w": 0.1 * rng.normal(size=D), "b": np.zeros(1)}


def loss_and_grads(params, batch):
    """L = 1/2 mean (X w + b - y)^2."""
    r = batch["X"] @ params["w"] + params["b"] - batch["y"]  # (B,)
    loss = 0.5 * float(np.mean(r**2))
    return loss, {"w": batch["X"].T @ r / len(r), "b": np.array([r.mean()])}


def make_stateful_loss(state: dict):
    """A loss that carries state between steps (like an SRN's hidden state) and depends on it:
    resume must restore `state` for the continued run to be identical."""

    def f(params, batch):
        loss, grads = loss_and_grads(params, batch)
        state["h"] = 0.9 * state["h"] + 0.1 * batch["X"].mean(axis=0)  # (D,)
        grads["w"] = grads["w"] + 0.01 * state["h"]
        return loss, grads

    return f


def mean_abs_w(epoch, params):
    return {"w_norm": float(np.linalg.norm(params["w"]))}


def test_loss_decreases_and_history_is_filled():
    params = init_params()
    cfg = TrainConfig(epochs=15, lr=0.2, desc="linreg")
    hist = train(
        loss_and_grads, params, RegressionBatches(), SGD(cfg.lr), cfg, on_epoch_end=mean_abs_w
    )
    assert isinstance(hist, History)
    assert hist.losses.dtype == np.float64 and hist.losses.shape == (120,)
    first, last = hist.losses[:8].mean(), hist.losses[-8:].mean()
    assert last < 0.01 * first  # from ~5 down to the noise level (~5e-5)
    np.testing.assert_allclose(params["w"], [2.0, -1.0, 0.5], atol=0.05)
    assert [m["epoch"] for m in hist.epoch_metrics] == list(range(1, 16))
    assert "w_norm" in hist.epoch_metrics[-1]
    assert hist.tokens == 120 * BATCH and hist.tokens_per_second > 0 and hist.completed


def run(
    out_dir,
    *,
    stop_after=0,
    resume=False,
    checkpoint_every=5,
    params=None,
    state=None,
    loss=None,
    **kw,
):
    """Adam + cosine schedule + clipping + carried state: everything resume must restore."""
    params = init_params() if params is None else params
    state = {"h": np.zeros(D)} if state is None else state
    cfg = TrainConfig(
        epochs=3,
        lr=0.05,
        schedule="cosine",
        warmup=4,
        lr_floor=0.001,
        clip=1.0,
        checkpoint_every=checkpoint_every,
        out_dir=out_dir,
        resume=resume,
        stop_after=stop_after,
        desc="linreg",
        **kw,
    )
    hist = train(
        loss or make_stateful_loss(state),
        params,
        RegressionBatches(),
        Adam(cfg.lr),
        cfg,
        state=state,
        on_epoch_end=mean_abs_w,
    )
    return params, state, hist


@pytest.mark.parametrize("stop_after", [5, 8, 13], ids=["mid-epoch", "epoch-end", "epoch-2"])
def test_stop_then_resume_is_bit_identical(tmp_path, stop_after):
    straight_params, straight_state, straight = run(tmp_path / "straight")

    out = tmp_path / "split"
    _, _, first = run(out, stop_after=stop_after, checkpoint_every=0)
    assert not first.completed and len(first.losses) == stop_after
    ck = load_npz(out / CHECKPOINT)
    assert int(ck["global_step"]) == stop_after
    # Position = the epoch of the last step and how many of its batches are done.
    assert (int(ck["epoch"]), int(ck["step"])) == ((stop_after - 1) // 8, (stop_after - 1) % 8 + 1)
    # Fresh process state: params and state start as garbage and must come from the checkpoint.
    params = {"w": np.full(D, 123.0), "b": np.full(1, -7.0)}
    state = {"h": np.full(D, 99.0)}
    params, state, resumed = run(out, resume=True, params=params, state=state)

    for k in params:
        np.testing.assert_array_equal(params[k], straight_params[k])  # bit-identical
    np.testing.assert_array_equal(state["h"], straight_state["h"])
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    assert resumed.epoch_metrics == straight.epoch_metrics
    final_a = load_npz(tmp_path / "straight" / CHECKPOINT)
    final_b = load_npz(out / CHECKPOINT)
    for k in final_a:
        if not k.startswith("history/train_seconds"):
            np.testing.assert_array_equal(final_a[k], final_b[k], err_msg=k)


def test_checkpoint_contents(tmp_path):
    params, _, _ = run(tmp_path)
    with np.load(tmp_path / CHECKPOINT, allow_pickle=False) as f:
        keys = set(f.files)
        assert str(f["model"]) == "linreg" and str(f["optimizer"]) == "Adam"
        assert (int(f["epoch"]), int(f["step"]), int(f["global_step"])) == (3, 0, 24)
        np.testing.assert_array_equal(f["p/w"], params["w"])
    assert {"p/b", "opt/step", "opt/m/w", "opt/v/b", "s/h", "history/losses", "seed"} <= keys


def test_sigint_writes_checkpoint_and_resume_is_bit_identical(tmp_path):
    straight_params, _, straight = run(tmp_path / "straight")
    calls = {"n": 0}
    state = {"h": np.zeros(D)}
    inner = make_stateful_loss(state)

    def loss_with_ctrl_c(params, batch):
        calls["n"] += 1
        if calls["n"] == 6:
            signal.raise_signal(signal.SIGINT)  # arrives mid-step, acted on after the update
        return inner(params, batch)

    out = tmp_path / "interrupted"
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted, match="--resume") as err:
        run(out, checkpoint_every=0, state=state, loss=loss_with_ctrl_c)
    assert "after step 6" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, MinilmError) and err.value.exit_code == EXIT_INTERRUPTED
    assert signal.getsignal(signal.SIGINT) is previous  # handler restored
    assert int(load_npz(out / CHECKPOINT)["global_step"]) == 6

    params, _, resumed = run(out, resume=True, params=init_params(seed=5))
    for k in params:
        np.testing.assert_array_equal(params[k], straight_params[k])
    np.testing.assert_array_equal(resumed.losses, straight.losses)


def test_sigint_during_evaluation_stops_at_the_epoch_boundary(tmp_path):
    straight_params, _, straight = run(tmp_path / "straight")

    def hook(epoch, params):
        if epoch == 0:
            signal.raise_signal(signal.SIGINT)
        return mean_abs_w(epoch, params)

    out = tmp_path / "interrupted"
    cfg = TrainConfig(
        epochs=3,
        lr=0.05,
        schedule="cosine",
        warmup=4,
        lr_floor=0.001,
        clip=1.0,
        out_dir=out,
        desc="linreg",
    )
    state = {"h": np.zeros(D)}
    with pytest.raises(Interrupted, match="after step 8"):
        train(
            make_stateful_loss(state),
            init_params(),
            RegressionBatches(),
            Adam(cfg.lr),
            cfg,
            state=state,
            on_epoch_end=hook,
        )
    ck = load_npz(out / CHECKPOINT)
    assert (int(ck["epoch"]), int(ck["step"]), int(ck["global_step"])) == (1, 0, 8)
    params, _, resumed = run(out, resume=True)
    np.testing.assert_array_equal(params["w"], straight_params["w"])
    assert resumed.epoch_metrics == straight.epoch_metrics  # epoch 1's metrics kept, not redone


CHILD = """
import sys, time
import numpy as np
from minilm.errors import run_cli
from minilm.optim import SGD
from minilm.train import TrainConfig, train

class Endless:
    steps_per_epoch = 100_000
    def epoch(self, epoch):
        for _ in range(self.steps_per_epoch):
            yield {"x": np.ones(2)}

def loss_and_grads(params, batch):
    if loss_and_grads.calls == 3:
        print("running", flush=True)
    loss_and_grads.calls += 1
    time.sleep(0.001)
    return 0.5 * float(params["w"] @ params["w"]), {"w": params["w"].copy()}
loss_and_grads.calls = 0

def main():
    cfg = TrainConfig(epochs=1, lr=0.01, out_dir=sys.argv[1], desc="child")
    train(loss_and_grads, {"w": np.ones(2)}, Endless(), SGD(cfg.lr), cfg)

run_cli(main)
"""


def test_real_ctrl_c_in_a_script_checkpoints_and_exits_with_one_line(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "running"
    time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode != 0
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "--resume" in lines[0], err
    assert "Traceback" not in err
    assert int(load_npz(tmp_path / CHECKPOINT)["global_step"]) >= 4


def test_diverging_loss_stops_with_one_line_and_keeps_last_good_checkpoint(tmp_path):
    # lr 3 on this regression: the loss grows ~4x a step, a millionfold by step 10 (finite).
    params = init_params()
    cfg = TrainConfig(epochs=20, lr=3.0, checkpoint_every=2, out_dir=tmp_path, desc="linreg")
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(MinilmError) as err:
        train(loss_and_grads, params, RegressionBatches(), SGD(cfg.lr), cfg)
    msg = str(err.value)
    assert "\n" not in msg and "lower --lr" in msg and "last good checkpoint" in msg
    failed_step = int(msg.split("at step ")[1].split()[0])
    ck = load_npz(tmp_path / CHECKPOINT)
    assert 0 < int(ck["global_step"]) < failed_step
    assert all(np.all(np.isfinite(ck[k])) for k in ("p/w", "p/b", "history/losses"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nonfinite_loss_stops_at_its_step(tmp_path, bad):
    calls = {"n": 0}

    def poisoned(params, batch):
        calls["n"] += 1
        loss, grads = loss_and_grads(params, batch)
        return (bad if calls["n"] == 5 else loss), grads

    cfg = TrainConfig(epochs=1, lr=0.1, checkpoint_every=2, out_dir=tmp_path, desc="linreg")
    with pytest.raises(MinilmError, match=f"loss is {bad} at step 5.*lower --lr.*step 4"):
        train(poisoned, init_params(), RegressionBatches(), SGD(cfg.lr), cfg)
    assert int(load_npz(tmp_path / CHECKPOINT)["global_step"]) == 4


def test_inf_valid_perplexity_stops_before_the_final_checkpoint(tmp_path):
    # Finite training losses, a held-out perplexity of inf at epoch 2: the run stops with one
    # line, and the checkpoint of epoch 1 (the last good one) is what stays on disk.
    def on_epoch_end(epoch, params):
        return {"valid_perplexity": 5.0 if epoch == 0 else float("inf")}

    steps = RegressionBatches().steps_per_epoch
    cfg = TrainConfig(epochs=3, lr=0.1, checkpoint_every=steps, out_dir=tmp_path, desc="linreg")
    with pytest.raises(MinilmError) as err:
        train(
            loss_and_grads,
            init_params(),
            RegressionBatches(),
            SGD(0.1),
            cfg,
            on_epoch_end=on_epoch_end,
        )
    msg = str(err.value)
    assert "valid_perplexity is inf after epoch 2" in msg and "lower --lr" in msg, msg
    assert int(load_npz(tmp_path / CHECKPOINT)["global_step"]) == 2 * steps - steps % 1
    assert "\n" not in msg


def test_nonfinite_params_are_never_checkpointed(tmp_path):
    # A finite loss but an inf gradient at step 4: the step-4 checkpoint must not be written.
    calls = {"n": 0}

    def bad_grads(params, batch):
        calls["n"] += 1
        loss, grads = loss_and_grads(params, batch)
        if calls["n"] == 4:
            grads["w"] = np.full(D, np.inf)
        return loss, grads

    cfg = TrainConfig(epochs=1, lr=0.1, checkpoint_every=2, out_dir=tmp_path, desc="linreg")
    with pytest.raises(MinilmError, match="step 4.*lower --lr.*step 2"):
        train(bad_grads, init_params(), RegressionBatches(), SGD(cfg.lr), cfg)
    assert int(load_npz(tmp_path / CHECKPOINT)["global_step"]) == 2


def test_resume_without_checkpoint_or_out_dir(tmp_path):
    with pytest.raises(MinilmError, match="no checkpoint at"):
        run(tmp_path, resume=True)
    with pytest.raises(MinilmError, match="needs --out"):
        run(None, resume=True)


def test_resume_refuses_checkpoint_of_another_model_or_shape(tmp_path):
    run(tmp_path)
    with pytest.raises(MinilmError, match="model 'linreg', not 'other'"):
        run(tmp_path, resume=True, model="other")
    params = {"w": np.zeros(D + 1), "b": np.zeros(1)}
    cfg = TrainConfig(epochs=1, lr=0.1, out_dir=tmp_path, resume=True, desc="linreg")
    with pytest.raises(MinilmError, match="parameters"):
        train(loss_and_grads, params, RegressionBatches(), Adam(0.1), cfg)
    with pytest.raises(MinilmError, match="seed"):
        run(tmp_path, resume=True, seed=3)


def test_probe_and_epoch_lines_are_printed(capsys):
    cfg = TrainConfig(epochs=2, lr=0.1, desc="linreg", probe_every=4)
    train(
        loss_and_grads,
        init_params(),
        RegressionBatches(),
        SGD(0.1),
        cfg,
        probe=lambda p: f"probe w0={p['w'][0]:.2f}",
    )
    err = capsys.readouterr().err
    assert err.count("probe w0=") == 4  # steps 4, 8, 12, 16
    assert "epoch 1/2" in err and "epoch 2/2" in err


@pytest.mark.parametrize(
    "bad",
    [{"lr": 0.0}, {"epochs": 0}, {"schedule": "exp"}, {"clip": -1.0}, {"checkpoint_every": -1}],
)
def test_bad_config_is_a_one_line_error(bad):
    cfg = TrainConfig(**({"lr": 0.1} | bad))
    with pytest.raises(MinilmError):
        train(loss_and_grads, init_params(), RegressionBatches(), SGD(0.1), cfg)


def test_empty_batch_source_is_an_error():
    source = RegressionBatches()
    source.steps_per_epoch = 0
    with pytest.raises(MinilmError, match="shorter than one batch"):
        train(loss_and_grads, init_params(), source, SGD(0.1), TrainConfig(lr=0.1))


def test_keep_freed_memory_takes_on_glibc():
    import platform

    from minilm.fast.memory import keep_freed_memory

    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
