"""The command-line programs: each module parses its flags in `main()`, calls the library and
prints a one-line summary. `python -m minilm.cli.train_nplm ...` runs one (the lab does, see
minilm/lab_runner.py); `scripts/train_nplm.py` is the same program under its familiar name."""
