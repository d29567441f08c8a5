"""Train ELMo, a bidirectional LSTM language model, and measure its contextual vectors.

The program is minilm/cli/train_elmo.py (its docstring and `--help` list the flags);
`python -m minilm.cli.train_elmo` runs the same.
"""

from minilm.cli.train_elmo import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
