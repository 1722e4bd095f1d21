"""A forward pass recorded as a graph of operations, and the chain rule run backwards over it.  Notebook 18

    value = op(inputs)            every Node: its op, its inputs (Nodes), its value
    vjp(g) = (g·∂value/∂input)    its local backward: dL/d(value) in, dL/d(input) out, one per input
    dL/dL = 1;  dL/d(u) = Σ over the uses of u of that use's vjp      (reverse topological order)

This is what ``loss.backward()`` does inside torch, written small enough to read. minidl's modules
never build such a graph: a Sequential's graph is a chain known in advance, so each module writes
the vector-Jacobian product of its whole block by hand (``Linear.backward`` is the vjp of ``x Wᵀ + b``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

Vjp = Callable[[Tensor], Sequence[Tensor]]


def sum_to_shape(g: Tensor, shape: torch.Size | tuple[int, ...]) -> Tensor:
    """dL/da for an input a that was broadcast to g's shape: g summed over the broadcast dimensions.

    b (out,) added to every row of (N, out)  ->  dL/db = Σ_n g[n, :]
    """
    while g.dim() > len(shape):
        g = g.sum(dim=0)
    for dim, size in enumerate(shape):
        if size == 1 and g.shape[dim] != 1:
            g = g.sum(dim=dim, keepdim=True)
    return g


class Node:
    """One value of a forward pass, the op that made it, its inputs and the op's vjp.

    Ops (a, b Nodes, g = dL/dy):
        y = a @ b        dL/da = g bᵀ,                dL/db = aᵀ g
        y = a.T          dL/da = gᵀ
        y = a + b        dL/da = g, dL/db = g          (each summed to its input's shape: broadcasting)
        y = a - b        dL/da = g, dL/db = -g         (idem)
        y = a * b        dL/da = g ⊙ b, dL/db = g ⊙ a
        y = a.relu()     dL/da = g ⊙ [a > 0]
        y = a.mean()     dL/da = g / M everywhere       (M = a.numel())
    Each op appends its Node to the tape of its inputs; a leaf (``tape.leaf``) has no inputs.
    """

    def __init__(self, tape: Tape, op: str, value: Tensor, inputs: tuple[Node, ...] = (),
                 vjp: Vjp | None = None, name: str = ""):
        self.tape, self.op, self.value, self.inputs, self.vjp, self.name = tape, op, value, inputs, vjp, name

    @property
    def shape(self) -> torch.Size:
        return self.value.shape

    def __repr__(self) -> str:
        what = self.name or self.op
        return f"Node({what}, shape={tuple(self.value.shape)})"

    def _node(self, other: Any, symbol: str) -> Node:
        if not isinstance(other, Node):
            raise TypeError(f"Node {symbol}: expected a Node, got {type(other).__name__} "
                            f"(wrap a tensor with tape.leaf(value, name))")
        if other.tape is not self.tape:
            raise ValueError(f"Node {symbol}: expected Nodes of one tape, got Nodes of two different tapes")
        return other

    def __matmul__(self, other: Node) -> Node:
        a, b = self.value, self._node(other, "@").value
        return self.tape.record("matmul", a @ b, (self, other), lambda g: (g @ b.T, a.T @ g))

    @property
    def T(self) -> Node:
        return self.tape.record("T", self.value.T, (self,), lambda g: (g.T,))

    def __add__(self, other: Node) -> Node:
        a, b = self.value, self._node(other, "+").value
        return self.tape.record("add", a + b, (self, other),
                                lambda g: (sum_to_shape(g, a.shape), sum_to_shape(g, b.shape)))

    def __sub__(self, other: Node) -> Node:
        a, b = self.value, self._node(other, "-").value
        return self.tape.record("sub", a - b, (self, other),
                                lambda g: (sum_to_shape(g, a.shape), sum_to_shape(-g, b.shape)))

    def __mul__(self, other: Node) -> Node:
        a, b = self.value, self._node(other, "*").value
        return self.tape.record("mul", a * b, (self, other), lambda g: (g * b, g * a))

    def relu(self) -> Node:
        a = self.value
        return self.tape.record("relu", a.clamp(min=0), (self,), lambda g: (g * (a > 0),))

    def mean(self) -> Node:
        a = self.value
        return self.tape.record("mean", a.mean(), (self,), lambda g: (g.expand(a.shape) / a.numel(),))


class Tape:
    """The record of one forward pass: ``nodes``, every Node in the order it was computed.

    Inputs are computed before the op that uses them, so the tape's order is already a topological order.
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def leaf(self, value: Tensor, name: str) -> Node:
        """A value that no op of the tape made: an input, a target or a parameter."""
        if not isinstance(value, Tensor):
            raise TypeError(f"Tape.leaf({name!r}): expected a torch.Tensor, got {type(value).__name__}")
        return self.record("leaf", value, (), None, name)

    def record(self, op: str, value: Tensor, inputs: tuple[Node, ...], vjp: Vjp | None, name: str = "") -> Node:
        """Append the Node ``value = op(inputs)`` with its vjp; the way every op (and a new one) is made."""
        if inputs and vjp is None:
            raise ValueError(f"Tape.record({op!r}): an op with inputs needs a vjp, got None")
        node = Node(self, op, value, tuple(inputs), vjp, name)
        self.nodes.append(node)
        return node


def topological_order(root: Any, inputs_of: Callable[[Any], Iterable[Any]] = lambda n: n.inputs) -> list[Any]:
    """Every node ``root`` depends on, root included, each after all of its inputs (depth-first post-order).

    visit(n): if n is new, visit each of its inputs, then append n.   ``inputs_of`` reads any graph's links,
    e.g. torch's ``grad_fn.next_functions``.
    """
    order: list[Any] = []
    seen: set[int] = set()

    def visit(node: Any) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in inputs_of(node):
            visit(parent)
        order.append(node)

    visit(root)
    return order


def gradients(root: Node) -> dict[Node, Tensor]:
    """dL/d(node) for every node the scalar ``root`` = L depends on.

    dL/dL = 1; then in reverse topological order each node hands g = dL/d(node) to its vjp and every input
    *adds* what comes back (+=): a value used by two ops (or twice by one) gets the sum of both.
    """
    if not isinstance(root, Node):
        raise TypeError(f"gradients: expected the Node of a scalar loss, got {type(root).__name__}")
    if root.value.numel() != 1:
        raise ValueError(f"gradients: expected a scalar loss, got a value of shape {tuple(root.value.shape)}")
    grads: dict[Node, Tensor] = {root: torch.ones_like(root.value)}
    for node in reversed(topological_order(root)):
        if node.vjp is None:
            continue                                          # a leaf: nothing below it
        for parent, g in zip(node.inputs, node.vjp(grads[node]), strict=True):
            grads[parent] = grads[parent] + g if parent in grads else g
    return grads


def layout(order: Sequence[Node]) -> dict[Node, tuple[float, float]]:
    """(column, row) of each node for a drawing: the spine (the root's first input, its first input, …) on
    row 0, root rightmost; every other input one row above the node that uses it, in that node's column."""
    root, spine = order[-1], []
    node: Node | None = root
    while node is not None:
        spine.append(node)
        node = node.inputs[0] if node.inputs else None
    place = {n: (float(len(spine) - 1 - i), 0.0) for i, n in enumerate(spine)}
    for n in reversed(order):                                 # users before their inputs
        for parent in n.inputs:
            if parent not in place:
                col, row = place[n]
                place[parent] = (col, row + 1.0)
    taken = list(place.values())
    if len(set(taken)) != len(taken):
        raise ValueError("layout: two nodes got the same place; this layout draws chains with short side "
                         "branches, like an MLP's graph")
    return place


def draw_graph(order: Sequence[Node], ax: Any = None, *, numbers: bool = True,
               highlight: Iterable[Node] = ()) -> dict[Node, tuple[float, float]]:
    """Boxes (op, shape; a leaf's name) and arrows input -> op on a matplotlib axes; returns the layout.

    ``numbers`` writes each node's position in ``order`` above its box; ``highlight`` colours some boxes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    place = layout(order)
    if ax is None:
        cols = max(c for c, _ in place.values()) + 1
        rows = max(r for _, r in place.values()) + 1
        fig, ax = plt.subplots(figsize=(0.95 * cols + 0.3, 0.95 * rows + 0.3))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    marked = {id(n) for n in highlight}
    index = {id(n): i for i, n in enumerate(order)}
    for n, (c, r) in place.items():
        label = n.name if n.op == "leaf" else n.op
        face = "#ffd27f" if id(n) in marked else ("#e8e8e8" if n.op == "leaf" else "#cfe2f3")
        ax.text(c, r, f"{label}\n{tuple(n.shape)}", ha="center", va="center", fontsize=10, zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": face, "edgecolor": "#555555"})
        if numbers:
            ax.text(c + 0.34, r + 0.3, str(index[id(n)]), ha="center", va="center", fontsize=9, color="#aa0000")
    for n in place:
        for k, parent in enumerate(n.inputs):
            bend = 0.0 if n.inputs.count(parent) == 1 else (0.6 if k == 0 else -0.6)
            ax.add_patch(FancyArrowPatch(place[parent], place[n], arrowstyle="-|>", mutation_scale=10,
                                         shrinkA=19, shrinkB=19, color="#333333", zorder=2,
                                         connectionstyle=f"arc3,rad={bend}"))
    cols = [c for c, _ in place.values()]
    rows = [r for _, r in place.values()]
    ax.set_xlim(min(cols) - 0.6, max(cols) + 0.6)
    ax.set_ylim(min(rows) - 0.6, max(rows) + 0.6)
    ax.axis("off")
    return place
