"""PyTorch's keyword arguments on every public op (gpugrad/ops/keywords.py), checked against torch.

Each case is ``(name, args, kwargs)`` built by ``lib`` (gg or torch) so the same line runs on both;
the results must agree in values, shape and dtype.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg


def operands(lib):
    x = lib.tensor([[0.5, -1.0, 2.0], [3.0, -0.25, 1.5]])
    y = lib.tensor([[1.0, 2.0, -1.0], [0.5, 4.0, 2.0]])
    return x, y


FUNCTION_CASES = {
    # name: lambda lib, x, y -> (args, kwargs)
    "add other alpha": ("add", lambda lib, x, y: ((x,), {"other": y, "alpha": 2})),
    "add input other": ("add", lambda lib, x, y: ((), {"input": x, "other": 3})),
    "add int alpha": ("add", lambda lib, x, y: ((lib.arange(3), 1), {"alpha": 3})),
    "sub alpha": ("sub", lambda lib, x, y: ((x, y), {"alpha": 3})),
    "sub input other": ("sub", lambda lib, x, y: ((), {"input": x, "other": y})),
    "rsub alpha": ("rsub", lambda lib, x, y: ((x, y), {"alpha": 2})),
    "mul": ("mul", lambda lib, x, y: ((), {"input": x, "other": y})),
    "div": ("div", lambda lib, x, y: ((x,), {"other": y})),
    "pow": ("pow", lambda lib, x, y: ((), {"input": x, "exponent": 2})),
    "maximum": ("maximum", lambda lib, x, y: ((), {"input": x, "other": y})),
    "minimum": ("minimum", lambda lib, x, y: ((x,), {"other": y})),
    "lt": ("lt", lambda lib, x, y: ((), {"input": x, "other": y})),
    "eq number": ("eq", lambda lib, x, y: ((x,), {"other": 2.0})),
    "where": ("where", lambda lib, x, y: ((x > 0,), {"input": x, "other": y})),
    "matmul": ("matmul", lambda lib, x, y: ((), {"input": x, "other": y.T})),
    "clamp": ("clamp", lambda lib, x, y: ((), {"input": x, "min": -0.5, "max": 1.0})),
    "exp": ("exp", lambda lib, x, y: ((), {"input": x})),
    "relu": ("relu", lambda lib, x, y: ((), {"input": x})),
    "sum dim keepdim": ("sum", lambda lib, x, y: ((x,), {"dim": 1, "keepdim": True})),
    "sum axis keepdims": ("sum", lambda lib, x, y: ((), {"input": x, "axis": 0, "keepdims": True})),
    "mean dims": ("mean", lambda lib, x, y: ((x,), {"dim": (0, 1), "keepdim": True})),
    "amax": ("amax", lambda lib, x, y: ((x,), {"dim": 0})),
    "max dim": ("max", lambda lib, x, y: ((), {"input": x, "dim": 1, "keepdim": True})),
    "min axis": ("min", lambda lib, x, y: ((x,), {"axis": 0})),
    "argmax": ("argmax", lambda lib, x, y: ((x,), {"dim": 1, "keepdim": True})),
    "logsumexp": ("logsumexp", lambda lib, x, y: ((), {"input": x, "dim": 1})),
    "softmax": ("softmax", lambda lib, x, y: ((x,), {"dim": -1})),
    "log_softmax": ("log_softmax", lambda lib, x, y: ((), {"input": x, "dim": 0})),
    "var": ("var", lambda lib, x, y: ((x,), {"dim": 1, "keepdim": True})),
    "std": ("std", lambda lib, x, y: ((), {"input": x, "dim": 0})),
    "prod": ("prod", lambda lib, x, y: ((x,), {"dim": 1})),
    "all": ("all", lambda lib, x, y: ((x > 0,), {"dim": 1})),
    "any": ("any", lambda lib, x, y: ((), {"input": x > 2, "dim": 0, "keepdim": True})),
    "cat": ("cat", lambda lib, x, y: ((), {"tensors": [x, y], "dim": 1})),
    "cat axis": ("cat", lambda lib, x, y: (([x, y],), {"axis": 0})),
    "stack": ("stack", lambda lib, x, y: (([x, y],), {"dim": 2})),
    "squeeze": ("squeeze", lambda lib, x, y: ((x[None],), {"dim": 0})),
    "unsqueeze": ("unsqueeze", lambda lib, x, y: ((), {"input": x, "dim": 1})),
    "flatten": ("flatten", lambda lib, x, y: ((), {"input": x, "start_dim": 0, "end_dim": -1})),
    "transpose": ("transpose", lambda lib, x, y: ((x,), {"dim0": 0, "dim1": 1})),
    "permute": ("permute", lambda lib, x, y: ((x,), {"dims": (1, 0)})),
    "reshape": ("reshape", lambda lib, x, y: ((), {"input": x, "shape": (3, 2)})),
    "narrow": ("narrow", lambda lib, x, y: ((x,), {"dim": 1, "start": 1, "length": 2})),
    "select": ("select", lambda lib, x, y: ((x,), {"dim": 1, "index": 2})),
    "split": ("split", lambda lib, x, y: ((x,), {"split_size_or_sections": 2, "dim": 1})),
    "chunk": ("chunk", lambda lib, x, y: ((), {"input": x, "chunks": 2, "dim": 1})),
    "unbind": ("unbind", lambda lib, x, y: ((x,), {"dim": 1})),
    # out=: the result is written into out and out is returned
    "add out": ("add", lambda lib, x, y: ((x, y), {"alpha": 2, "out": lib.empty(2, 3)})),
    "exp out is input": ("exp", lambda lib, x, y: ((x,), {"out": x})),
    "sum out": ("sum", lambda lib, x, y: ((x,), {"dim": 1, "out": lib.empty(2)})),
    "matmul out": ("matmul", lambda lib, x, y: ((x, y.T), {"out": lib.empty(2, 2)})),
    "add out float64": ("add", lambda lib, x, y: ((x, y), {"out": lib.empty(2, 3, dtype=lib.float64)})),
    "int add into float out": ("add", lambda lib, x, y: ((lib.arange(3), 1), {"out": lib.empty(3)})),
    "eq into float out": ("eq", lambda lib, x, y: ((x, y), {"out": lib.empty(2, 3)})),
    "out resized from empty": ("mul", lambda lib, x, y: ((x, y), {"out": lib.empty(0)})),
    "cat out": ("cat", lambda lib, x, y: (([x, y],), {"dim": 0, "out": lib.empty(4, 3)})),
    "max out pair": ("max", lambda lib, x, y: ((x, 1), {"out": (lib.empty(2), lib.empty(2, dtype=lib.int64))})),
}

METHOD_CASES = {
    "add other alpha": ("add", lambda lib, x, y: ((), {"other": y, "alpha": 2})),
    "sub other": ("sub", lambda lib, x, y: ((), {"other": y})),
    "mul other": ("mul", lambda lib, x, y: ((), {"other": 2.0})),
    "pow exponent": ("pow", lambda lib, x, y: ((), {"exponent": 3})),
    "matmul other": ("matmul", lambda lib, x, y: ((), {"other": y.T})),
    "sum axis keepdims": ("sum", lambda lib, x, y: ((), {"axis": 1, "keepdims": True})),
    "mean dim keepdim": ("mean", lambda lib, x, y: ((), {"dim": 0, "keepdim": True})),
    "max dim": ("max", lambda lib, x, y: ((), {"dim": 1})),
    "argmin": ("argmin", lambda lib, x, y: ((), {"dim": 0, "keepdim": True})),
    "softmax": ("softmax", lambda lib, x, y: ((), {"dim": 0})),
    "clamp": ("clamp", lambda lib, x, y: ((), {"min": 0.0})),
    "view size": ("view", lambda lib, x, y: ((), {"size": (3, 2)})),
    "reshape shape": ("reshape", lambda lib, x, y: ((), {"shape": (6,)})),
    "permute dims": ("permute", lambda lib, x, y: ((), {"dims": (1, 0)})),
    "expand size": ("expand", lambda lib, x, y: ((), {"size": (4, 2, 3)})),
    "transpose": ("transpose", lambda lib, x, y: ((), {"dim0": 1, "dim1": 0})),
    "unsqueeze": ("unsqueeze", lambda lib, x, y: ((), {"dim": -1})),
    "flatten": ("flatten", lambda lib, x, y: ((), {"start_dim": 0})),
    "split split_size": ("split", lambda lib, x, y: ((), {"split_size": 2, "dim": 1})),
    "mean dtype": ("mean", lambda lib, x, y: ((), {"dtype": lib.float64})),
    "add_ alpha": ("add_", lambda lib, x, y: ((y,), {"alpha": 2})),
    "sub_ other alpha": ("sub_", lambda lib, x, y: ((), {"other": y, "alpha": 0.5})),
}


def as_lists(result):
    """Values, shapes and dtype names of a tensor or a (named) tuple of them, for comparison."""
    if isinstance(result, (tuple, list)):
        return [as_lists(r) for r in result]
    return (result.tolist(), tuple(result.shape), str(result.dtype).split(".")[-1])


def assert_same(ours, theirs):
    """Equal structure, shapes and dtypes; values equal to float32 rounding."""
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
        return
    assert ours[1:] == theirs[1:]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)


def run_function(lib, name, build):
    x, y = operands(lib)
    args, kwargs = build(lib, x, y)
    result = getattr(lib, name)(*args, **kwargs)
    out = kwargs.get("out")
    if out is not None:
        assert result is out or all(r is o for r, o in zip(result, out)), "out= must be what is returned"
    return as_lists(result)


def run_method(lib, name, build):
    x, y = operands(lib)
    args, kwargs = build(lib, x, y)
    return as_lists(getattr(x, name)(*args, **kwargs))


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
def test_function_keywords_match_torch(case):
    torch = pytest.importorskip("torch")
    name, build = FUNCTION_CASES[case]
    assert_same(run_function(gg, name, build), run_function(torch, name, build))


@pytest.mark.parametrize("case", sorted(METHOD_CASES))
def test_method_keywords_match_torch(case):
    torch = pytest.importorskip("torch")
    name, build = METHOD_CASES[case]
    assert_same(run_method(gg, name, build), run_method(torch, name, build))


def test_function_keywords_without_torch():
    x, y = operands(gg)
    assert gg.add(input=x, other=y, alpha=2).tolist() == (x + 2 * y).tolist()
    assert gg.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert x.reshape(shape=(3, 2)).shape == (3, 2)
    with pytest.raises(TypeError, match="both other= and b="):
        gg.add(x, b=y, other=y)


def test_out_writes_on_the_device(device):
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    out = gg.empty(2, 2, device=device)
    assert gg.mul(x, x, out=out) is out
    np.testing.assert_allclose(gg.backends.to_host(out.array), [[1.0, 4.0], [9.0, 16.0]])
    before = out._version_number
    with pytest.warns(UserWarning, match="resized"):
        gg.sum(x, dim=0, out=out)
    assert out.shape == (2,) and out._version_number > before


def test_out_resize_warns_as_torch_does():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        x, y = operands(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.add(x, y, out=lib.empty(5))
        assert tuple(out.shape) == (2, 3)
        assert any("was resized since it had shape [5]" in str(w.message) for w in caught), lib.__name__
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.add(x, y, out=lib.empty(0))  # an empty out is resized silently


@pytest.mark.parametrize("make, message", [
    (lambda lib: lib.div(lib.arange(3), 2, out=lib.empty(3, dtype=lib.int64)), "can't be cast to the desired output"),
    (lambda lib: lib.add(lib.ones(2, requires_grad=True), 1, out=lib.empty(2)), "don't support automatic differ"),
    (lambda lib: lib.add(lib.ones(2), 1, out=lib.empty(2, requires_grad=True)), "don't support automatic differ"),
    (lambda lib: lib.add(lib.arange(3), 1, alpha=0.5), "alpha must not be a floating point number"),
])
def test_errors_match_torch(make, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=message):
        make(torch)
    with pytest.raises(RuntimeError, match=message):
        make(gg)


def test_out_under_no_grad_is_allowed():
    a = gg.ones(2, requires_grad=True)
    out = gg.empty(2)
    with gg.no_grad():
        assert gg.add(a, 1, out=out).tolist() == [2.0, 2.0]


def test_methods_take_no_out_or_input():
    x, y = operands(gg)
    with pytest.raises(TypeError):
        x.exp(out=gg.empty(2, 3))
    with pytest.raises(TypeError):
        x.add(input=x, other=y)


def test_new_ops_get_the_keywords_for_free():
    from gpugrad.ops.keywords import torch_function

    def twice(x, dim=0, keepdim=False):
        return gg.sum(x, dim=dim, keepdim=keepdim) * 2

    op = torch_function(twice)
    x, _ = operands(gg)
    out = gg.empty(1, 3)
    assert op(input=x, axis=0, keepdims=True, out=out) is out
    np.testing.assert_allclose(out.tolist(), (x.sum(dim=0, keepdim=True) * 2).tolist())
