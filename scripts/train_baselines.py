"""Count-based word vectors and GloVe: tf-idf, LSA, PPMI-SVD, GloVe on one corpus.

The program is minilm/cli/train_baselines.py (its docstring and `--help` list the flags and
recipes); `python -m minilm.cli.train_baselines` runs the same.
"""

from minilm.cli.train_baselines import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
