"""minidl.tools.graph: each op's vjp against autograd, the topological order, the accumulating walk, the picture."""

import matplotlib
import pytest
import torch
from matplotlib.patches import FancyArrowPatch

import minidl as md
from minidl.tools.graph import Tape, draw_graph, gradients, layout, sum_to_shape, topological_order

matplotlib.use("Agg")
f64 = torch.float64


def autograd_of(fn, *values):
    """The oracle: d(sum of g ⊙ fn(values))/d(values) by torch.autograd, g a fixed random upstream gradient."""
    with torch.enable_grad():
        leaves = [v.clone().requires_grad_() for v in values]
        out = fn(*leaves)
        g = torch.randn(out.shape, generator=torch.Generator().manual_seed(7), dtype=f64)
        return out.detach(), g, torch.autograd.grad(out, leaves, g)


OPS = {
    "matmul": (lambda a, b: a @ b, [(4, 3), (3, 5)]),
    "T": (lambda a: a.T, [(4, 3)]),
    "add": (lambda a, b: a + b, [(4, 3), (4, 3)]),
    "add, broadcast bias": (lambda a, b: a + b, [(4, 3), (3,)]),
    "add, broadcast row": (lambda a, b: a + b, [(4, 3), (1, 3)]),
    "sub, broadcast": (lambda a, b: a - b, [(4, 3), (3,)]),
    "mul": (lambda a, b: a * b, [(4, 3), (4, 3)]),
    "relu": (lambda a: a.relu(), [(4, 3)]),
    "mean": (lambda a: a.mean(), [(4, 3)]),
}


@pytest.mark.parametrize("name", OPS)
def test_each_vjp_matches_autograd(name):
    fn, shapes = OPS[name]
    gen = torch.Generator().manual_seed(0)
    values = [torch.randn(s, generator=gen, dtype=f64) for s in shapes]
    expected_value, g, expected_grads = autograd_of(fn, *values)
    tape = Tape()
    node = fn(*[tape.leaf(v, f"v{i}") for i, v in enumerate(values)])
    assert node.op == name.split(",")[0] and node.tape is tape and tape.nodes[-1] is node
    torch.testing.assert_close(node.value, expected_value, rtol=0, atol=0)
    for got, want in zip(node.vjp(g), expected_grads, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_relu_sends_nothing_back_where_the_input_is_not_positive():
    tape = Tape()
    (grad,) = tape.leaf(torch.tensor([-1.0, 0.0, 2.0], dtype=f64), "a").relu().vjp(torch.ones(3, dtype=f64))
    assert grad.tolist() == [0.0, 0.0, 1.0]                   # at 0 the derivative is taken as 0, like torch


def course(x, t, params):
    h = x
    for k, (W, b) in enumerate(params):
        s = h @ W.T + b
        h = s.relu() if k < len(params) - 1 else s
    d = h - t
    return (d * d).mean()


def course_graph(seed, n=6):
    gen = torch.Generator().manual_seed(seed)
    sizes = [2, 25, 25, 25, 2]
    x, t = torch.rand(n, 2, generator=gen, dtype=f64), torch.rand(n, 2, generator=gen, dtype=f64)
    params = [(torch.randn(o, i, generator=gen, dtype=f64) / i ** 0.5, torch.randn(o, generator=gen, dtype=f64))
              for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    tape = Tape()
    leaves = [tape.leaf(x, "x")] + [tape.leaf(v, f"{k}{j}") for j, (W, b) in enumerate(params, 1)
                                    for k, v in (("W", W), ("b", b))]
    loss = course(leaves[0], tape.leaf(t, "t"), list(zip(leaves[1::2], leaves[2::2], strict=True)))
    return tape, loss, leaves, (x, t, params)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_gradients_of_the_course_network_match_autograd(seed):
    tape, loss, leaves, (x, t, params) = course_graph(seed)
    grads = gradients(loss)
    flat = [x] + [v for pair in params for v in pair]
    with torch.enable_grad():
        ref = [v.clone().requires_grad_() for v in flat]
        ref_loss = course(ref[0], t, list(zip(ref[1::2], ref[2::2], strict=True)))
        expected = torch.autograd.grad(ref_loss, ref)
    torch.testing.assert_close(loss.value, ref_loss.detach(), rtol=0, atol=1e-15)
    for leaf, want in zip(leaves, expected, strict=True):
        torch.testing.assert_close(grads[leaf], want, rtol=0, atol=1e-12, msg=leaf.name)


def test_the_gradients_match_minidls_modules():
    tape, loss, leaves, (x, t, params) = course_graph(2)
    linears = [md.Linear(W.shape[1], W.shape[0], dtype=f64) for W, _ in params]
    model = md.Sequential(*[m for linear in linears for m in (linear, md.ReLU())][:-1])
    for linear, (W, b) in zip(linears, params, strict=True):
        linear.weight.data.copy_(W)
        linear.bias.data.copy_(b)
    criterion = md.MSELoss()
    criterion(model(x), t)
    model.zero_grad()
    grad_x = model.backward(criterion.backward())
    grads = gradients(loss)
    torch.testing.assert_close(grads[leaves[0]], grad_x, rtol=0, atol=1e-12)
    for p, leaf in zip(model.parameters(), leaves[1:], strict=True):
        torch.testing.assert_close(grads[leaf], p.grad, rtol=0, atol=1e-12)


def test_a_value_used_twice_gets_the_sum_of_both_gradients():
    tape = Tape()
    a = tape.leaf(torch.tensor([1.0, -2.0, 3.0], dtype=f64), "a")
    grads = gradients((a * a).mean())                          # d/da mean(a²) = 2a/3: both uses of a add up
    torch.testing.assert_close(grads[a], 2 * a.value / 3, rtol=0, atol=1e-15)
    b = tape.leaf(torch.tensor([2.0, 5.0], dtype=f64), "b")
    c = b + b
    grads = gradients((c * b).mean())                          # mean(2b²): a value feeding two different ops
    torch.testing.assert_close(grads[b], 2 * b.value, rtol=0, atol=1e-15)


def test_the_topological_order_puts_each_node_after_its_inputs_once():
    tape, loss, leaves, _ = course_graph(0)
    order = topological_order(loss)
    position = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is loss and len(position) == len(order) == len(tape.nodes) == 28
    assert all(position[id(p)] < position[id(n)] for n in order for p in n.inputs)
    assert [n.op for n in order if n.op != "leaf"] == ["T", "matmul", "add", "relu"] * 3 + \
        ["T", "matmul", "add", "sub", "mul", "mean"]
    tape_position = {id(n): i for i, n in enumerate(tape.nodes)}      # the tape's order is topological too
    assert all(tape_position[id(p)] < tape_position[id(n)] for n in tape.nodes for p in n.inputs)


def test_the_topological_order_leaves_out_what_the_root_does_not_depend_on():
    tape = Tape()
    a, b = tape.leaf(torch.ones(2, dtype=f64), "a"), tape.leaf(torch.ones(2, dtype=f64), "b")
    unused = a * b
    loss = (a + a).mean()
    order = topological_order(loss)
    assert unused in tape.nodes and unused not in order and b not in order and order[0] is a


def test_the_topological_order_reads_any_graph_through_inputs_of():
    graph = {"loss": ["mul"], "mul": ["sub", "sub"], "sub": ["y", "t"], "y": ["x"], "x": [], "t": []}
    order = topological_order("loss", inputs_of=graph.__getitem__)
    assert order == ["x", "y", "t", "sub", "mul", "loss"]
    diamond = {"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}
    assert topological_order("d", inputs_of=diamond.__getitem__) == ["a", "b", "c", "d"]


def test_sum_to_shape_sums_the_broadcast_dimensions():
    g = torch.arange(6, dtype=f64).reshape(2, 3)
    assert sum_to_shape(g, (3,)).tolist() == [3.0, 5.0, 7.0]
    assert sum_to_shape(g, (1, 3)).tolist() == [[3.0, 5.0, 7.0]]
    assert sum_to_shape(g, (2, 1)).tolist() == [[3.0], [12.0]]
    assert sum_to_shape(g, (2, 3)) is g


def test_a_new_op_is_recorded_with_tape_record():
    tape = Tape()
    a = tape.leaf(torch.tensor([0.5, -1.0], dtype=f64), "a")
    y = a.value.tanh()
    node = tape.record("tanh", y, (a,), lambda g: (g * (1 - y * y),))
    torch.testing.assert_close(gradients(node.mean())[a], (1 - y * y) / 2, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make, error, message", [
    (lambda tape, a: a @ a.value, TypeError, "Node @: expected a Node, got Tensor (wrap a tensor with tape.leaf"),
    (lambda tape, a: a + Tape().leaf(a.value, "b"), ValueError, "Node +: expected Nodes of one tape, got Nodes of two"),
    (lambda tape, a: a * 2.0, TypeError, "Node *: expected a Node, got float"),
    (lambda tape, a: tape.leaf([1.0], "c"), TypeError, "Tape.leaf('c'): expected a torch.Tensor, got list"),
    (lambda tape, a: tape.record("exp", a.value.exp(), (a,), None), ValueError,
     "Tape.record('exp'): an op with inputs needs a vjp, got None"),
    (lambda tape, a: gradients(a.relu()), ValueError, "gradients: expected a scalar loss, got a value of shape (2, 2)"),
    (lambda tape, a: gradients(a.value.sum()), TypeError, "gradients: expected the Node of a scalar loss, got Tensor"),
])
def test_misuse_is_refused_in_one_line(make, error, message):
    tape = Tape()
    a = tape.leaf(torch.ones(2, 2, dtype=f64), "a")
    with pytest.raises(error) as info:
        make(tape, a)
    assert str(info.value).startswith(message)


def test_the_layout_puts_the_chain_on_one_row_and_side_inputs_above():
    tape, loss, leaves, _ = course_graph(0)
    order = topological_order(loss)
    place = layout(order)
    assert place[loss] == (14.0, 0.0) and place[leaves[0]] == (0.0, 0.0)
    assert len(set(place.values())) == len(order)
    assert all(place[n][1] == 2.0 for n in leaves[1::2])             # W above its transpose, above the matmul
    assert all(place[n][1] == 1.0 for n in leaves[2::2])             # b above its add


def test_the_layout_refuses_two_nodes_in_one_place():
    tape = Tape()
    x, u, v = (tape.leaf(torch.ones(2, dtype=f64), name) for name in "xuv")
    with pytest.raises(ValueError, match="layout: two nodes got the same place"):
        layout(topological_order((x + (u + v)).mean()))            # u and v both land above u + v


def test_the_drawing_has_a_box_per_node_and_an_arrow_per_use():
    import matplotlib.pyplot as plt
    tape, loss, leaves, _ = course_graph(0)
    order = topological_order(loss)
    fig, ax = plt.subplots()
    draw_graph(order, ax, highlight=[order[-3]])
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    boxes = [t for t in ax.texts if "\n" in t.get_text()]
    assert len(arrows) == sum(len(n.inputs) for n in order) == 28   # mul uses sub twice: two arrows
    assert len(boxes) == len(order) and sorted(t.get_text() for t in ax.texts if "\n" not in t.get_text()) == \
        sorted(str(i) for i in range(len(order)))
    marked = [t.get_text() for t in boxes if matplotlib.colors.to_hex(t.get_bbox_patch().get_facecolor()) == "#ffd27f"]
    assert marked == ["sub\n(6, 2)"]
    plt.close(fig)


def test_the_drawing_makes_its_own_figure_sized_by_the_layout():
    import matplotlib.pyplot as plt
    _, loss, _, _ = course_graph(0)
    place = draw_graph(topological_order(loss), numbers=False)
    fig = plt.gcf()
    width, height = fig.get_size_inches()
    assert len(place) == 28 and width > 3 * height                  # 15 columns by 3 rows: a wide strip
    assert all("\n" in t.get_text() for t in fig.axes[0].texts)     # no position numbers, boxes only
    plt.close(fig)
