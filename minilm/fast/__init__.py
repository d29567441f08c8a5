"""Fast paths: each function here equals a reference in minilm/layers or minilm/models (tested)."""
