"""The checker itself must catch a wrong gradient, or every other gradient test proves nothing."""

import numpy as np

from minilm.gradcheck import check_layer, numerical_gradient, rel_error


def _square_forward(x):
    return x**2, x


def test_numerical_gradient_of_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    num = numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    assert rel_error(num, np.cos(x)) < 1e-9  # central differences, h=1e-5: error ~h^2


def test_check_layer_passes_correct_and_fails_wrong_backward():
    x = np.random.default_rng(0).standard_normal((3, 4))
    good = check_layer(_square_forward, lambda d, c: 2 * c * d, [x], names=["x"])
    bad = check_layer(_square_forward, lambda d, c: c * d, [x], names=["x"])
    assert good["x"] < 1e-9
    assert bad["x"] > 0.1


def test_rel_error_is_symmetric_and_scale_free():
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.2])
    assert rel_error(a, b) == rel_error(b, a)
    assert np.isclose(rel_error(a, b), rel_error(1e6 * a, 1e6 * b))
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
