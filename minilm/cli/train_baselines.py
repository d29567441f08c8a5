"""Count-based word vectors and GloVe: tf-idf, LSA, PPMI-SVD, GloVe on one corpus.

    python scripts/train_baselines.py --method ppmi --out runs/ppmi      # bundled world corpus
    python scripts/train_baselines.py --method lsa --out runs/lsa --dim 100
    python scripts/train_baselines.py --method glove --out runs/glove --epochs 50 --batch-size 512
    python scripts/train_baselines.py --method tfidf --out runs/tfidf

Methods (equations in minilm/models/count.py and glove.py):
  tfidf  rows of the tf-idf term-document matrix (a document = --doc-lines lines). With tens of
         thousands of documents those rows are too wide for a vectors file (the world corpus:
         896 words x 67,500 documents), so we write them rotated into r <= V dimensions,
         L = U S with L L^T = A A^T: every cosine between words is exactly that of the tf-idf
         rows. --dim is ignored. The sparse document vectors go to model.npz (A_rows/A_cols/A_vals).
  lsa    U_k S_k^p of the truncated SVD of that matrix (p = --eig-p, default 1).
  ppmi   U_k S_k^p of the truncated SVD of the shifted PPMI matrix of symmetric --window
         co-occurrences, context smoothing --alpha 0.75, shift log(--shift) (default p = 0.5).
  glove  weighted least squares on log co-occurrences (window 10, 1/distance weighting),
         AdaGrad, vectors W + W_tilde. --alpha and --x-max shape its weighting function.
         The fit runs here, through the shared loop (minilm/train.py) on batches of non-zero
         cells (minilm/data/cooccurrence.py); its "tok/s" counts corpus tokens, a batch being
         its share of the corpus. Defaults: 25 epochs of 4096-cell batches, so that 1M tokens
         of real text take minutes. On world that scores analogy 0.34-0.35, purity 0.83,
         similarity 0.67-0.70 (seeds 1-3) against 0.36, 0.84-0.86, 0.74-0.75 with the paper's
         50 epochs (and batches of 512, seeds 1-2; the first line above) in twice the time.

Writes vectors.txt/.bin, projector/, model.npz, metrics.json (category_purity, analogy accuracy
under both protocols, similarity_spearman when the ground-truth files are beside the corpus;
train_seconds, peak_memory_mb, vocab_size, train_tokens, seed) and loss.png into --out.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from minilm import na
from minilm.data.cooccurrence import CooccurrenceCells
from minilm.data.corpus import load_corpus
from minilm.errors import ArgumentParser, MinilmError, finite_float, run_cli, seed_arg
from minilm.evaluate import evaluate_embedding, ground_truth_files
from minilm.io import add_out_args, claim_out_dir
from minilm.models import count, glove
from minilm.optim import Adagrad
from minilm.runs import summary_line, write_run
from minilm.threads import add_threads_arg, apply_threads
from minilm.train import History, TrainConfig, run_identity, train
from minilm.vectors import KeyedVectors

METHODS = ("tfidf", "lsa", "ppmi", "glove")
PROBES = ("king", "dog", "bread", "red", "france", "walked")
DEFAULT_WINDOW = {"ppmi": 5, "glove": 10}  # SGNS's window for PPMI; the paper's for GloVe
DEFAULT_EIG_P = {"lsa": 1.0, "ppmi": 0.5}  # classic LSA; Levy et al. (2015)'s recommendation
GLOVE_EPOCHS = 25  # passes over the non-zero cells (the paper: 50 below 300 dims; see glove.py)
GLOVE_LR = 0.05  # AdaGrad learning rate (glove.c's eta)
GLOVE_BATCH = 4096  # non-zero cells per AdaGrad step (512 to 4096: same figures on world)


def parse_args() -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--method", required=True, choices=METHODS)
    ap.add_argument("--corpus", help="text file or folder with train.txt (default: world)")
    add_out_args(ap)
    ap.add_argument("--seed", type=seed_arg, default=1, help="SVD / GloVe init and order")
    ap.add_argument("--epochs", type=int, default=GLOVE_EPOCHS, help="GloVe passes")
    ap.add_argument("--dim", type=int, default=100, help="D: vector size (not tfidf)")
    ap.add_argument("--window", type=int, help="co-occurrence window (ppmi 5, glove 10)")
    ap.add_argument(
        "--distance-weighting",
        action="store_true",
        help="ppmi: weight a pair at distance d by 1/d (GloVe always does)",
    )
    ap.add_argument("--min-count", type=int, default=5, help="rarer words are dropped")
    ap.add_argument("--doc-lines", type=int, default=1, help="tfidf/lsa: lines per document")
    ap.add_argument("--shift", type=finite_float, default=1.0, help="ppmi: k of the shift log k")
    ap.add_argument("--eig-p", type=finite_float, help="eigenvalue weighting p (lsa 1, ppmi 0.5)")
    ap.add_argument(
        "--alpha",
        type=finite_float,
        default=0.75,
        help="ppmi: context smoothing exponent; glove: weighting exponent",
    )
    ap.add_argument("--x-max", type=finite_float, default=glove.Config.x_max, help="glove: f's cap")
    ap.add_argument("--lr", type=finite_float, default=GLOVE_LR, help="glove: AdaGrad lr")
    ap.add_argument(
        "--batch-size",
        type=int,
        default=GLOVE_BATCH,
        help="glove: non-zero cells per step",
    )
    ap.add_argument("--checkpoint-every", type=int, default=0, help="glove: steps (0 = end)")
    ap.add_argument("--resume", action="store_true", help="glove: continue from a checkpoint")
    add_threads_arg(ap, default=1)
    args = ap.parse_args()
    if args.window is None:
        args.window = DEFAULT_WINDOW.get(args.method, 5)
    if args.eig_p is None:
        args.eig_p = DEFAULT_EIG_P.get(args.method, 1.0)
    for name in ("epochs", "dim", "window", "min_count", "doc_lines", "batch_size"):
        if getattr(args, name) < 1:
            raise MinilmError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.checkpoint_every < 0:
        raise MinilmError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if args.shift < 1:
        raise MinilmError(f"--shift must be >= 1 (1 = no shift), got {args.shift}")
    for name in ("alpha", "x_max", "lr"):
        if not getattr(args, name) > 0:
            raise MinilmError(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    return args


def check_dim(dim: int, limit: int, what: str) -> None:
    if dim > limit:
        raise MinilmError(f"--dim {dim} exceeds the rank limit {limit} of the {what}; lower --dim")


def train_count(args: argparse.Namespace, stream, V: int) -> tuple[np.ndarray, dict, dict]:
    """The closed-form methods: (vectors (V, D), params for model.npz, extra metrics).

    The extra metrics name the sparse matrix factorised: its non-zeros and the SVD route
    (count.svd_route), which with V set the memory a run needs (benchmarks/bench_count_memory.py).
    """
    rng = np.random.default_rng(args.seed)
    if args.method in ("tfidf", "lsa"):
        tf = count.term_document_counts(stream.ids, stream.offsets, V, args.doc_lines)
        A, idf = count.tfidf(tf)
        params = {
            "idf": idf,
            "A_rows": A.rows,
            "A_cols": A.cols,
            "A_vals": A.vals,
            "A_shape": np.array(A.shape, dtype=np.int64),
        }
        extra = {"nonzeros": A.nnz, "documents": A.shape[1]}
        if args.method == "tfidf":
            return count.gram_factor(A), params, extra
        check_dim(args.dim, min(A.shape), "term-document matrix")
        U, s, _ = count.truncated_svd(A, args.dim, rng)
        extra["svd_method"] = count.svd_route(*A.shape)
        return U * s**args.eig_p, {"U": U, "s": s, "idf": idf}, extra
    X = count.cooccurrence(stream.ids, stream.offsets, V, args.window, args.distance_weighting)
    M = count.ppmi(X, alpha=args.alpha, shift=args.shift)
    del X  # only the PPMI matrix is needed from here on
    check_dim(args.dim, V, "PPMI matrix")
    U, s, _ = count.truncated_svd(M, args.dim, rng)
    extra = {"nonzeros": M.nnz, "svd_method": count.svd_route(*M.shape)}
    return U * s**args.eig_p, {"U": U, "s": s, "ppmi_nnz": np.array(M.nnz)}, extra


def fit_glove(
    args: argparse.Namespace, X: count.CooMatrix, n_tokens: int, out, words: list[str]
) -> tuple[dict[str, np.ndarray], History]:
    """GloVe through the shared loop: AdaGrad on shuffled batches of X's non-zero cells.

    The loop shows J per cell (the batch's J / N); the gradients are J's own. Its "tok/s" is
    corpus tokens per second: a batch counts as its share of the corpus (data/cooccurrence.py).
    """
    cfg = glove.Config(len(words), dim=args.dim, x_max=args.x_max, alpha=args.alpha)
    params = glove.init_params(cfg, np.random.default_rng(args.seed))
    cells = CooccurrenceCells(X.rows, X.cols, X.vals, args.batch_size, args.seed, n_tokens)

    def per_cell(params: dict, batch: dict) -> tuple[float, dict]:
        loss, grads = glove.loss_and_grads(params, batch, cfg.x_max, cfg.alpha)
        return loss / len(batch["x"]), grads

    def probe(params: dict) -> str:
        kv = KeyedVectors(words, glove.vectors(params))
        return "\n".join(
            f"  {w}: " + " ".join(n for n, _ in kv.nearest(w, 6)) for w in PROBES if w in kv
        )

    loop = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        out_dir=out,
        resume=args.resume,
        identity=run_identity(args),
        desc="glove",
    )
    optimizer = Adagrad(lr=args.lr, initial_accumulator=1.0)  # glove.c starts gradsq at 1
    return params, train(per_cell, params, cells, optimizer, loop, probe=probe)


def main() -> None:
    args = parse_args()
    apply_threads(args.threads)
    out = claim_out_dir(args.out, "train_baselines.py", args.force)
    corpus = load_corpus(args.corpus, min_count=args.min_count, specials=())
    vocab, stream = corpus.vocab, corpus.train
    words, V = vocab.itos, len(vocab)

    start = time.perf_counter()
    history = None
    if args.method == "glove":
        X = count.cooccurrence(stream.ids, stream.offsets, V, args.window, distance_weighting=True)
        params, history = fit_glove(args, X, stream.n_tokens, out, words)
        vectors = glove.vectors(params)
        extra = {"nonzeros": X.nnz, "final_loss": float(history.losses[-1])}
    else:
        vectors, params, extra = train_count(args, stream, V)
    seconds = time.perf_counter() - start

    kv = KeyedVectors(words, vectors)
    metrics = {
        "model": args.method,
        "train_seconds": seconds,
        "train_tokens": stream.n_tokens,
        "vocab_size": V,
        "seed": args.seed,
        "dim": kv.dim,
        **extra,
    }
    metrics["tokens_per_second"] = stream.n_tokens / seconds  # whole corpus, counting included
    na.merge(metrics, evaluate_embedding(kv, ground_truth_files(args.corpus)))
    # ru_maxrss is in KiB on Linux: the peak resident memory of this whole process so far
    metrics["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = {"model": args.method, **vars(args)}
    write_run(out, words, kv.vectors, params, vocab, metrics, history, config, title=args.method)

    head = [
        f"{args.method}: {V} words x {kv.dim}",
        f"{seconds:.1f}s",
        f"peak {metrics['peak_memory_mb']:.0f} MB",
    ]
    print(summary_line(head, metrics, out))


if __name__ == "__main__":
    run_cli(main)
