"""Train Elman's (1990) simple recurrent network as a language model, with Elman's analysis.

The program is minilm/cli/train_srn.py (its docstring and `--help` list the flags and
recipes); `python -m minilm.cli.train_srn` runs the same.
"""

from minilm.cli.train_srn import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
