"""Train word2vec (skip-gram or CBOW) and fastText's subword vectors.

The program is minilm/cli/train_skipgram.py (its docstring and `--help` list the flags and
recipes); `python -m minilm.cli.train_skipgram` runs the same.
"""

from minilm.cli.train_skipgram import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
