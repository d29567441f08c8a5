"""Train Bengio et al.'s (2003) neural probabilistic language model and compare with Kneser-Ney.

The program is minilm/cli/train_nplm.py (its docstring and `--help` list the flags and recipes);
`python -m minilm.cli.train_nplm` runs the same.
"""

from minilm.cli.train_nplm import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
