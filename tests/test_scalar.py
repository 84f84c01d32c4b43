"""The Scalar engine: PyTorch-like API, operators, methods, accumulation, constants."""

from __future__ import annotations

import math

import pytest

from autodiff_cli import Scalar
from autodiff_cli.engine.scalar import gradients
from autodiff_cli.ops import FUNCTIONS, OPS, public_operations


def test_a_scalar_holds_value_grad_inputs_and_op() -> None:
    x = Scalar(2)
    assert x.data == 2.0 and isinstance(x.data, float)
    assert x.grad is None and x.requires_grad  # as in PyTorch: None until a backward pass
    assert x.inputs == () and x.op is None
    y = x * 3
    assert y.data == 6.0 and y.op is OPS["mul"]
    assert y.inputs[0] is x and y.inputs[1].data == 3.0 and not y.inputs[1].requires_grad
    assert float(y) == 6.0
    assert "6.0" in repr(y) and "mul" in repr(y)


def test_python_operators() -> None:
    x, y = Scalar(3.0), Scalar(2.0)
    cases = {
        "add": (x + y, 5.0, 1.0, 1.0), "radd": (1 + x, 4.0, 1.0, None),
        "sub": (x - y, 1.0, 1.0, -1.0), "rsub": (1 - x, -2.0, -1.0, None),
        "mul": (x * y, 6.0, 2.0, 3.0), "rmul": (2 * x, 6.0, 2.0, None),
        "div": (x / y, 1.5, 0.5, -0.75), "rdiv": (6 / x, 2.0, -6 / 9, None),
        "pow": (x ** y, 9.0, 6.0, 9 * math.log(3)), "rpow": (2 ** x, 8.0, 8 * math.log(2), None),
        "neg": (-x, -3.0, -1.0, None), "pos": (+x, 3.0, 1.0, None),
    }
    for name, (out, value, dx, dy) in cases.items():
        x.zero_grad()
        y.zero_grad()
        out.backward()
        assert out.data == pytest.approx(value), name
        assert x.grad == pytest.approx(dx), name
        assert y.grad == (pytest.approx(dy) if dy is not None else None), name


def test_a_method_for_every_public_operation_and_every_function_spelling() -> None:
    x, y = Scalar(0.5), Scalar(0.25)
    for op in public_operations():
        args = [y] * (op.arity - 1)
        out = getattr(x, op.name)(*args)
        assert out.op is op
        assert out.data == op.forward(0.5, *[0.25] * (op.arity - 1)) or math.isnan(out.data)
    for spelling, by_arity in FUNCTIONS.items():
        for arity, op in by_arity.items():
            out = getattr(x, spelling)(*[y] * (arity - 1))
            assert out.op is op, (spelling, arity)


def test_log_method_takes_an_optional_base_like_the_language() -> None:
    x = Scalar(8.0)
    assert x.log().data == math.log(8.0)
    assert x.ln().data == math.log(8.0)
    out = x.log(2)
    assert out.op is OPS["log_base"] and out.data == 3.0
    out.backward()
    assert x.grad == pytest.approx(1 / (8 * math.log(2)))


def test_a_method_with_the_wrong_number_of_arguments_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="sin"):
        Scalar(1.0).sin(2.0)
    with pytest.raises(TypeError, match="max"):
        Scalar(1.0).max()


def test_methods_mix_scalars_and_numbers() -> None:
    x = Scalar(3.0)
    out = x.max(4) + x.atan2(1.0) + x.hypot(4)
    out.backward()
    assert out.data == 4.0 + math.atan2(3, 1) + 5.0
    assert x.grad == pytest.approx(0.0 + 1 / 10 + 3 / 5)


def test_backward_accumulates_like_pytorch() -> None:
    x = Scalar(2.0)
    z = x * x
    y = z + x
    y.backward()
    assert (x.grad, z.grad, y.grad) == (5.0, 1.0, 1.0)
    y.backward()  # no zero_grad: adds again, on leaves and intermediates alike
    assert (x.grad, z.grad, y.grad) == (10.0, 2.0, 2.0)
    y.zero_grad()
    assert (x.grad, z.grad, y.grad) == (None, None, None)
    y.backward()
    assert x.grad == 5.0
    w = x * 10  # a second output sharing x adds into the same grad
    w.backward()
    assert x.grad == 15.0


def test_backward_with_a_seed_gradient() -> None:
    x = Scalar(3.0)
    (x * x).backward(0.5)
    assert x.grad == 3.0


def test_gradients_sum_over_every_path() -> None:
    x = Scalar(1.5)
    a = x.sin()
    b = a * a + a.exp() * x
    b.backward()
    expected = 2 * math.sin(1.5) * math.cos(1.5) + math.exp(math.sin(1.5)) * (math.cos(1.5) * 1.5 + 1)
    assert x.grad == pytest.approx(expected, rel=1e-15)


def test_constants_never_get_a_gradient() -> None:
    x = Scalar(2.0)
    c = Scalar(5.0, requires_grad=False)
    assert c.grad is None
    out = x * c + c * c
    out.backward()
    assert x.grad == 5.0 and c.grad is None
    only_constants = c * c
    assert not only_constants.requires_grad and only_constants.grad is None
    with pytest.raises(RuntimeError):
        only_constants.backward()
    mixed = only_constants + x
    assert mixed.requires_grad and mixed.inputs[0].grad is None


def test_gradients_reach_only_scalars_that_require_them() -> None:
    x = Scalar(2.0)
    frozen = Scalar(3.0, requires_grad=False)
    hidden = frozen * frozen  # depends on no variable
    out = hidden * x
    out.backward()
    assert x.grad == 9.0
    assert frozen.grad is None and hidden.grad is None
    assert hidden not in out.topological_order() and frozen not in out.topological_order()


def test_detach_cuts_the_graph() -> None:
    x = Scalar(3.0)
    y = x * x
    d = y.detach()
    assert d.data == 9.0 and not d.requires_grad and d.grad is None
    assert d.inputs == () and d.op is None
    out = d * x
    out.backward()
    assert x.grad == 9.0  # not 27: nothing flows through the detached copy
    assert y.grad is None  # no backward pass reached y


def test_zero_grad_reaches_the_whole_graph() -> None:
    x, y = Scalar(1.0), Scalar(2.0)
    out = (x * y).exp() + y
    out.backward()
    assert x.grad != 0.0 and y.grad != 0.0
    out.zero_grad()
    assert x.grad is None and y.grad is None and out.grad is None


def test_topological_order_puts_inputs_first_and_is_deterministic() -> None:
    x, y = Scalar(1.0), Scalar(2.0)
    a = x * y
    b = a + x
    out = b * a
    order = out.topological_order()
    assert order[-1] is out
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.inputs:
            assert position[id(parent)] < position[id(node)]
    assert [id(n) for n in order] == [id(n) for n in out.topological_order()]
    assert len(order) == len({id(n) for n in order}) == 5


def test_non_finite_values_propagate_without_exceptions() -> None:
    x = Scalar(0.0)
    out = x.log() + 1 / x + (x - 1).sqrt()
    out.backward()
    assert math.isnan(out.data)
    assert x.grad is not None and not math.isfinite(x.grad)


def test_gradients_equal_backward_and_leave_grad_alone() -> None:
    x, y = Scalar(0.7), Scalar(-1.3)
    z = Scalar(2.0)  # not used by f
    f = (x * y).sin() + x.exp() / (1.0 + y * y) + x * x
    found = gradients(f, [x, y, z])
    assert x.grad is None and y.grad is None  # untouched, as torch.autograd.grad
    f.backward()
    assert found == [x.grad, y.grad, 0.0]  # the same sweep, the same bits


def test_gradients_with_create_graph_differentiate_again() -> None:
    x, y = Scalar(0.7), Scalar(-1.3)
    f = x * x * y + (x * y).sin()
    dfdx, dfdy = gradients(f, [x, y], create_graph=True)
    assert isinstance(dfdx, Scalar) and dfdx.data == gradients(f, [x])[0]
    # d/dx (2xy + y cos(xy)) = 2y - y^2 sin(xy);  d/dy = 2x + cos(xy) - xy sin(xy)
    second = gradients(dfdx, [x, y])
    assert second[0] == pytest.approx(2 * y.data - y.data ** 2 * math.sin(x.data * y.data), rel=1e-14)
    assert second[1] == pytest.approx(2 * x.data + math.cos(x.data * y.data)
                                      - x.data * y.data * math.sin(x.data * y.data), rel=1e-14)
    # Mixed partials agree: d/dy (df/dx) = d/dx (df/dy).
    assert gradients(dfdy, [x])[0] == pytest.approx(second[1], rel=1e-14)
    # The gradient graph is not left hanging on the original nodes.
    assert all(node._adjoint is None for node in f.topological_order())


def test_gradients_ignore_what_an_earlier_backward_left_on_an_input() -> None:
    x, z = Scalar(1.0), Scalar(5.0)
    (z * 2.0).backward()  # z's scratch slot now holds 2.0
    assert gradients(x * 3.0, [x, z]) == [3.0, 0.0]


def test_gradients_of_a_constant_are_zero() -> None:
    x = Scalar(1.0)
    assert gradients(Scalar(3.0, requires_grad=False) * 2.0, [x]) == [0.0]


def test_abs_and_comparisons_as_in_pytorch() -> None:
    x = Scalar(-3.0)
    y = abs(x) * 2
    y.backward()
    assert y.data == 6.0 and x.grad == -2.0
    assert x < 3 and x <= -3 and not x > 0 and Scalar(1.0) >= x and x < Scalar(0.0)
    assert len({x, Scalar(-3.0)}) == 2  # still hashed by identity


def test_zero_grad_sets_none_as_pytorch_2_does() -> None:
    x = Scalar(2.0)
    y = x * x
    y.backward()
    assert x.grad == 4.0
    y.zero_grad()
    assert x.grad is None and y.grad is None
    y.backward()
    y.zero_grad(set_to_none=False)
    assert x.grad == 0.0


def test_gradients_takes_its_options_as_keywords_and_checks_its_arguments() -> None:
    x = Scalar(3.0)
    f = x * x
    assert gradients(f, [x], grad_output=2.0) == [12.0]
    with pytest.raises(TypeError):
        gradients(f, [x], 2.0)  # type: ignore[misc]
    with pytest.raises(TypeError, match="differentiates a Scalar, not float"):
        gradients(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="inputs as Scalars, not float"):
        gradients(f, [1.0])  # type: ignore[list-item]
