"""The layer library: pure forward/backward function pairs, no autograd.

core.py (affine, embedding, activations, dropout, layer norm), losses.py (softmax cross-entropy,
logistic loss), recurrent.py (Elman layer), attention.py (self-attention, positions, pooling),
hsoftmax.py (hierarchical softmax over word2vec's Huffman tree).
Import from the module that holds a layer, e.g. `from minilm.layers.core import affine_forward`.
"""
