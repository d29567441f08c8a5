"""Train the tiny transformer as a causal (GPT-style) next-word LM; exact held-out perplexity.

The program is minilm/cli/train_gpt.py (its docstring and `--help` list the flags and recipes);
`python -m minilm.cli.train_gpt` runs the same.
"""

from minilm.cli.train_gpt import main
from minilm.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
