"""Train a tiny transformer encoder as a masked LM; measure its contextual and sentence vectors.

The program is minilm/cli/train_transformer.py (its docstring and `--help` list the flags and
recipes); `python -m minilm.cli.train_transformer` runs the same.
"""

from minilm.cli.train_transformer import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
