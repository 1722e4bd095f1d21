"""The fast path: a training step compiled into preallocated buffers.            Notebook 12

The readable modules stay the reference; this file does their arithmetic, for one common case,
faster. ``plan = compile(model, criterion, optimizer)`` returns a FastStep whose
``loss = plan.step(xb, tb)`` has the effect of

    out = model(xb);  loss = criterion(out, tb)
    model.zero_grad();  model.backward(criterion.backward());  optimizer.step()

with the same mathematics, but
  * the step is straight-line Python generated once per batch size (``plan.source(n)`` prints it):
    one line per tensor op, every tensor a name bound at generation, no loop, lookup or branch;
  * every activation and gradient goes into buffers allocated once per batch size (``out=``);
  * activations run in place, and their backward reuses the forward's output y, written over
    once it is no longer needed: ReLU' = [y > 0] (one op), tanh' = 1 - y², σ' = (1 - y) y;
  * cross-entropy is 6 ops, not 12: log_softmax in one, the loss a dot product, then the gradient
    (softmax - onehot)/N; MSE's loss value is one dot product;
  * the bias is added after the product (with ReLU in the same call), dL/db = gᵀ 1 is a
    matrix-vector product: fewer calls on small layers, fewer passes over memory on large ones;
  * SGD's momentum b ← g + μb is one op (a fused multiply-add); Adam's v ← β₂v + (1 − β₂)g² is a
    lerp towards g², and its bias corrections are folded into two numbers (one op less);
  * the first layer's dL/dx is skipped (nobody needs the gradient of the data);
  * FlatUpdate updates all parameters with a few ops on flat tensors, not a few per parameter.
The fused log-softmax, the sums in another order, the fused multiply-add and Adam's folded
corrections round differently from the readable modules (issue 11 allows it where it buys speed):
float64 runs agree with the readable step to 1e-12 relative on every loss, with the same error
counts (tests/unit/training/test_fast.py says so). In float32 a step agrees to ~1e-7, which a run
near the edge of stability (the course network at lr 0.1) can amplify until two runs part ways.

Supported: a Sequential (nested ones flattened) of Linear layers, each followed by at most one
ReLU, LeakyReLU, Tanh or Sigmoid; MSELoss, or CrossEntropyLoss with class indices (reduction
"mean" or "sum"); SGD, RMSprop, Adam or AdamW (all options, l1 too; not a subclass) with one parameter
group holding exactly the model's parameters. ``supports(model, criterion, optimizer)`` returns None
or the reason compile() would refuse (a TypeError/ValueError naming, e.g., Dropout): train those
with the readable step.

The model stays the source of truth. compile() moves each parameter's ``data`` and ``grad``, and
the optimizer's state, into one flat tensor each with ``Tensor.set_``: the same tensor objects,
now views. So state_dict(), the optimizer's state_dict() and the readable step all see, and can
continue from, what the fast step did; after a step ``p.grad`` holds its gradient. The
hyperparameters are read at every step (``optimizer.lr = ...`` works); parameters or optimizer
state replaced (model.to(), optimizer.load_state_dict(), a second compile) are adopted at the
next step. Not updated: the modules' forward caches (Linear.x, ...) and criterion.grad.
tests/unit/training/test_fast.py checks all this against the readable step.
"""

from __future__ import annotations

import builtins
import math
from types import SimpleNamespace

import torch
from torch import Tensor

from ..framework.activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, Tanh
from ..framework.layers import Linear
from ..framework.losses import CrossEntropyLoss, Loss, MSELoss
from ..framework.module import Module, Sequential
from ..framework.optim import SGD, Adam, AdamW, Optimizer, RMSprop

ELEMENTWISE = tuple(ACTIVATIONS.values())
# ReLU's backward in one pass: g ← g where y > 0, else 0 (y = relu(x), so y > 0 ⇔ x > 0). The same numbers
# as g · sign(y), but one op and one read of g and y instead of sign_ then mul_: 3× faster on L's
# (4096, 2048) activations, and a call less on small ones. A plain tensor op of torch's (the kernel its own
# ReLU backward runs), not autograd, called without torch.ops' Python wrapper (which costs ~1 µs a call).
_THRESHOLD_BACKWARD = torch.ops.aten.threshold_backward.grad_input
RELU_BACKWARD = getattr(_THRESHOLD_BACKWARD, "_op", _THRESHOLD_BACKWARD)
# The bias is added after the product, with ReLU in the same call (torch._add_relu_, a plain tensor op):
# addmm would first copy the bias into the output, a broadcast copy that costs a call (~2 µs on the course
# network) and a pass over memory (then the product reads it back, then relu_ passes again: on L's
# (4096, 2048) activations mm + add_relu_ is ~4% faster than addmm + relu_). Σ_n g is the matrix-vector
# product gᵀ 1: a call less costly than sum(dim=0) on small layers and a faster pass on large ones.
# Both round differently from the readable step (a sum in another order; MKL adds addmm's bias inside
# its kernel), one reason the readable and compiled steps agree to 1e-12 in float64, not bit for bit.


def compile(model: Module, criterion: Loss, optimizer: Optimizer) -> FastStep:   # noqa: A001
    """A FastStep for this model, criterion and optimizer (see the module docstring)."""
    return FastStep(model, criterion, optimizer)


def supports(model: Module, criterion: Loss, optimizer: Optimizer) -> str | None:
    """None if compile() accepts these, else the reason it would refuse them."""
    try:
        _check(model, criterion, optimizer)
    except (TypeError, ValueError) as e:
        return str(e)
    return None


def _modules(model: Module) -> list[Module]:
    """The model's modules in order, nested Sequentials flattened."""
    if isinstance(model, Sequential):
        return [m for child in model for m in _modules(child)]
    return [model]


def _check(model: Module, criterion: Loss, optimizer: Optimizer) -> list[tuple[Linear, Module | None]]:
    """[(linear, activation or None), ...], or a TypeError/ValueError saying what is not supported."""
    where = "fast.compile"
    layers: list[list] = []
    for i, m in enumerate(_modules(model)):
        if type(m) is Linear:
            layers.append([m, None])
        elif type(m) in ELEMENTWISE and layers and layers[-1][1] is None:
            layers[-1][1] = m
        else:
            raise TypeError(f"{where}: module {i} ({type(m).__name__}) is not supported; the fast path "
                            f"takes Linear layers, each followed by at most one ReLU, LeakyReLU, Tanh or "
                            f"Sigmoid (use the readable step for other models)")
    if not layers:
        raise TypeError(f"{where}: the model has no Linear layer")
    if type(criterion) not in (MSELoss, CrossEntropyLoss):
        raise TypeError(f"{where}: criterion {type(criterion).__name__} is not supported "
                        f"(MSELoss or CrossEntropyLoss)")
    if type(optimizer) not in (SGD, RMSprop, Adam, AdamW):     # exact types: a subclass may change the step
        raise TypeError(f"{where}: optimizer {type(optimizer).__name__} is not supported "
                        f"(SGD, RMSprop, Adam or AdamW)")
    if len(optimizer.param_groups) != 1:
        raise ValueError(f"{where}: the optimizer must have one parameter group, "
                         f"got {len(optimizer.param_groups)}")
    params = [p for lin, _ in layers for p in (lin.weight, lin.bias) if p is not None]
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{where}: a layer appears twice in the model (shared parameters are not supported)")
    if [id(p) for p in optimizer.param_groups[0]["params"]] != [id(p) for p in params]:
        raise ValueError(f"{where}: the optimizer must hold exactly the model's parameters, in order "
                         f"(build it with model.parameters())")
    return [(lin, act) for lin, act in layers]


def _offsets(tensors: list[Tensor]) -> list[int]:
    """Where each tensor starts in the flat one, then the total. Starts are 64-byte aligned, as
    fresh tensors are: BLAS takes other paths, which round differently, for unaligned memory."""
    align = max(1, 64 // tensors[0].element_size())
    offsets = [0]
    for t in tensors:
        offsets.append(offsets[-1] + -(-t.numel() // align) * align)
    return offsets


def _gather(tensors: list[Tensor]) -> Tensor:
    """One flat tensor with the values of ``tensors``, which become views of it (same objects)."""
    offsets = _offsets(tensors)
    flat = torch.zeros(offsets[-1], dtype=tensors[0].dtype, device=tensors[0].device)
    for t, start in zip(tensors, offsets, strict=False):
        view = flat[start:start + t.numel()].view(t.shape)
        view.copy_(t)
        t.set_(view)                          # t now lives inside flat; its values are unchanged
    return flat


_CONSTANTS: dict[tuple, Tensor] = {}


def _const(value: float, like: Tensor) -> Tensor:
    """value as a 0-d tensor of like's dtype, made once. torch wraps a Python number into a new
    tensor at every call (about 1.5 µs); the result is the same, the number is used in that dtype."""
    key = (value, like.dtype, like.device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return _CONSTANTS[key]


class FlatUpdate:
    """optim.py's SGD, RMSprop, Adam or AdamW step for all parameters at once: a few ops on flat tensors.

    P, G: every parameter's data and grad, gathered (the Parameters' tensors are views of them);
    state: the optimizer's buffers, gathered the same way ([b] for SGD, [v] or [v, b] for RMSprop,
    [m, v] for Adam(W)), or None until the first step creates them, as the readable optimizer does.
    """

    def __init__(self, optimizer: Optimizer):
        self.optimizer, self.params = optimizer, list(optimizer.param_groups[0]["params"])
        self.adopt()

    def _names(self) -> tuple[str, ...]:
        """The optimizer's state buffers step() uses, in the order of ``state``."""
        kind = type(self.optimizer)
        if kind is SGD:
            return ("momentum_buffer",)
        if kind is RMSprop:
            return ("square_avg", "momentum_buffer") if self.optimizer.param_groups[0]["momentum"] != 0 \
                else ("square_avg",)
        return ("exp_avg", "exp_avg_sq")

    def adopt(self) -> None:
        """Gather the parameters, gradients and optimizer state as they are now."""
        first = self.params[0].data
        if any(p.data.dtype != first.dtype or p.data.device != first.device for p in self.params):
            raise TypeError("fast.compile: every parameter must have the same dtype and device")
        self.P, self.G = _gather([p.data for p in self.params]), _gather([p.grad for p in self.params])
        self.S: Tensor | None = None          # scratch, for L1, weight decay, Nesterov and Adam only
        self.S2: Tensor | None = None         # RMSprop's √v + ε
        self.scalar = torch.zeros((), dtype=self.P.dtype, device=self.P.device)   # see _number
        self.names = self._names()
        states = [self.optimizer.state.get(p) for p in self.params]
        if "momentum_buffer" in self.names and type(self.optimizer) is RMSprop:
            for p, s in zip(self.params, states, strict=True):   # momentum switched on: b starts at 0, as
                if s is not None and "momentum_buffer" not in s:   # in RMSprop.step
                    s["momentum_buffer"] = torch.zeros_like(p.data)
        if all(s is None for s in states):
            self.state = None
        elif all(s is not None and all(k in s for k in self.names) for s in states):
            self.state, self.states = [_gather([s[k] for s in states]) for k in self.names], states
        else:
            raise RuntimeError("fast.compile: the optimizer has state for some parameters but not all")
        self.seen = (self.P.data_ptr(), self.G.data_ptr(), self.optimizer.state)

    def stale(self) -> bool:
        """Were the parameters or the optimizer state replaced since adopt()?  (model.to(...),
        optimizer.load_state_dict(...), another compile of the same model, a readable first step)"""
        data_ptr, grad_ptr, state = self.seen
        return self.params[0].data.data_ptr() != data_ptr or self.params[0].grad.data_ptr() != grad_ptr \
            or self.optimizer.state is not state or (self.state is None and bool(state)) \
            or self.names != self._names()

    def _start_state(self) -> list[Tensor]:
        """The state of a first step, flat, with the optimizer's state dicts holding views of it."""
        adam = type(self.optimizer) is not SGD       # RMSprop, Adam, AdamW: zeros and a step count
        flats = [torch.zeros_like(self.P) for _ in self.names] if adam else [self.G.clone()]
        self.states = []
        for p, start in zip(self.params, _offsets([p.data for p in self.params]), strict=False):
            views = {k: f[start:start + p.data.numel()].view(p.shape) for k, f in zip(self.names, flats, strict=True)}
            self.states.append(self.optimizer.state.setdefault(p, {}))
            self.states[-1].update(views, **({"step": 0} if adam else {}))
        return flats

    def prepare(self) -> None:
        """Allocate what step() writes into: the scratch and, at the first step, the state.

        Called outside inference mode: tensors made inside it could not be updated in place
        later by the readable optimizer, which takes over the same state.
        """
        group = self.optimizer.param_groups[0]
        adam = type(self.optimizer) is not SGD
        if self.S is None and (group["weight_decay"] != 0 or group["l1"] != 0 or adam or group.get("nesterov")):
            self.S = torch.empty_like(self.P)
        if self.S2 is None and type(self.optimizer) is RMSprop:
            self.S2 = torch.empty_like(self.P)
        self.first = self.state is None
        if self.first and (adam or group["momentum"] != 0):
            self.state = self._start_state()

    def _number(self, value: float) -> Tensor:
        """value in a 0-d tensor of the parameters' dtype, kept: torch turns a Python number multiplying or
        dividing a tensor into a new tensor first, ~3 µs, more than the op itself on the course network.
        The same number in the same dtype, so the same result."""
        return self.scalar.fill_(value)

    def step(self) -> None:
        """The update; prepare() first."""
        group, P, g, S, first = self.optimizer.param_groups[0], self.P, self.G, self.S, self.first
        if group["l1"] != 0:                                             # optim.add_l1, before θ moves:
            g = torch.add(g, torch.sign(P, out=S), alpha=group["l1"], out=S)   # g ← ∇θ + λ₁ sign(θ)
        if group["weight_decay"] != 0 and type(self.optimizer) is AdamW:
            P.mul_(self._number(1.0 - group["lr"] * group["weight_decay"]))   # AdamW: θ ← θ(1 − lr·λ)
        elif group["weight_decay"] != 0:
            g = torch.add(g, P, alpha=group["weight_decay"], out=S)      # g ← g + λθ
        if type(self.optimizer) is SGD:
            mu = group["momentum"]
            if mu != 0:
                b = self.state[0]
                if first:
                    b.copy_(g)                                           # b ← g at the first step
                else:
                    if group["dampening"] == 0:                                  # one op, not two:
                        torch.add(g, b, alpha=mu, out=b)                         # b ← g + μb
                    else:
                        b.mul_(_const(mu, P)).add_(g, alpha=1.0 - group["dampening"])   # b ← μb + (1 − τ)g
                g = torch.add(g, b, alpha=mu, out=S) if group["nesterov"] else b
            P.add_(g, alpha=-group["lr"])                                # θ ← θ − lr·g
            return
        t = self.states[0]["step"] + 1
        for s in self.states:
            s["step"] = t
        if type(self.optimizer) is RMSprop:
            alpha, mu, v = group["alpha"], group["momentum"], self.state[0]
            v.mul_(_const(alpha, P)).addcmul_(g, g, value=1.0 - alpha)    # v ← αv + (1 − α)g²
            avg = torch.sqrt(v, out=self.S2).add_(_const(group["eps"], P))  # √v + ε
            if mu == 0:
                P.addcdiv_(g, avg, value=-group["lr"])                   # θ ← θ − lr g / (√v + ε)
            else:
                b = self.state[1].mul_(_const(mu, P)).addcdiv_(g, avg)   # b ← μb + g / (√v + ε)
                P.add_(b, alpha=-group["lr"])                            # θ ← θ − lr b
            return
        (b1, b2), (m, v) = group["betas"], self.state
        m.lerp_(g, 1.0 - b1)                                             # m ← β₁m + (1 − β₁)g
        v.lerp_(torch.mul(g, g, out=S), 1.0 - b2)                        # v ← β₂v + (1 − β₂)g²
        # θ ← θ − lr m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), √v̂ = √v / c, c = √(1 − β₂ᵗ), is
        # θ ← θ − (lr c / (1 − β₁ᵗ)) m / (√v + ε c): the corrections folded into two numbers, an op less
        c = math.sqrt(1.0 - b2 ** t)
        denom = torch.sqrt(v, out=S).add_(self._number(group["eps"] * c))   # √v + ε c
        P.addcdiv_(m, denom, value=-group["lr"] * c / (1.0 - b1 ** t))


class FastStep:
    """forward + loss + backward of a Linear/activation MLP into preallocated buffers, then FlatUpdate.

    For each batch size the step is generated once as straight-line Python (``source(n)`` shows it):
    one line per tensor operation, every tensor a name bound at generation, so a step pays for no loop,
    attribute lookup or branch; ~15% of a course-sized step was that bookkeeping.
    """

    def __init__(self, model: Module, criterion: Loss, optimizer: Optimizer):
        self.layers, self.criterion = _check(model, criterion, optimizer), criterion
        self.update = FlatUpdate(optimizer)
        self.in_features = self.layers[0][0].in_features
        self._plans: dict[tuple[int, str], SimpleNamespace] = {}
        self._seen: dict[tuple, SimpleNamespace] = {}     # (x.shape, x.dtype, reduction) -> its plan, checked
        # Autograd is off already (set_grad_enabled(False) or not), but every op still passes
        # through autograd's dispatch layer to find that out; inference mode skips that layer.
        # Everything the step keeps is allocated before entering it (see FlatUpdate.prepare).
        self._inference = torch.inference_mode()

    def step(self, xb: Tensor, tb: Tensor) -> Tensor:
        """One training step on the batch (xb, tb); returns the batch loss (a 0-d tensor)."""
        try:                                  # a batch like one seen before: its plan, checked with less Python
            plan = self._seen[xb.shape, xb.dtype, self.criterion.reduction]
            fits = tb.shape == plan.target_shape and plan.target_dtype in (None, tb.dtype) and not self.update.stale()
        except (KeyError, AttributeError):
            fits = False
        if not fits:
            plan = self._current(xb, "FastStep.step")
            self._check_target(tb, plan, "FastStep.step")
            self._seen[xb.shape, xb.dtype, self.criterion.reduction] = plan
        self.update.prepare()
        with self._inference:                 # no autograd bookkeeping at all: ~10% faster here
            loss = plan.train(xb, tb)
            self.update.step()
        return loss

    def source(self, n: int) -> str:
        """The Python the step runs for a batch of n rows (generated at its first use)."""
        self._adopt_if_stale()
        return (self._plans.get((n, self.criterion.reduction)) or self._plan(n)).source

    # -- what fit()'s loop asks of a step besides step() (see train.ReadableStep) ---------------------
    def matches(self, model: Module) -> bool:
        """Is the model still made of the layers this plan was compiled for?"""
        try:
            layers = _check(model, self.criterion, self.update.optimizer)
        except (TypeError, ValueError):
            return False
        return len(layers) == len(self.layers) and all(
            a[0] is b[0] and a[1] is b[1] for a, b in zip(layers, self.layers, strict=True))

    def _current(self, x: Tensor, where: str) -> SimpleNamespace:
        """The plan for a batch like x, after adopting replaced parameters or state; x checked."""
        self._adopt_if_stale()
        dtype = self.update.P.dtype
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.in_features or x.dtype != dtype:
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{where}: expected x of shape (N, {self.in_features}) and dtype {dtype}, got {got}")
        return self._plans.get((x.shape[0], self.criterion.reduction)) or self._plan(x.shape[0])

    def _check_target(self, target: Tensor, plan: SimpleNamespace, where: str) -> None:
        """A ValueError unless target fits the loss (plan.target_shape, plan.target_dtype): before anything
        is computed or changed."""
        if isinstance(target, Tensor) and target.shape == plan.target_shape \
                and plan.target_dtype in (None, target.dtype):
            return
        got = getattr(target, "shape", type(target).__name__)
        if type(self.criterion) is MSELoss:
            raise ValueError(f"{where}: MSELoss target: expected shape {tuple(plan.target_shape)}, got {got}")
        raise ValueError(f"{where}: CrossEntropyLoss target: expected class indices, shape "
                         f"({plan.out_shape[0]},) dtype torch.int64 (no probability targets here), got {got}")

    def measure(self, x: Tensor, target: Tensor, labels: Tensor) -> tuple[float, float]:
        """(loss, error rate) on (x, target), labels for the error: metrics.measure's numbers
        (no Dropout here, so train and eval mode agree), computed in this plan's buffers."""
        plan = self._current(x, "FastStep.measure")
        self._check_target(target, plan, "FastStep.measure")
        with self._inference:
            out = plan.forward(x)
            wrong = torch.count_nonzero(out.argmax(dim=1) != labels)
            loss = plan.value(out, target)
        return float(loss), float(wrong) / max(len(labels), 1)

    def error(self, x: Tensor, labels: Tensor) -> float:
        """The error rate alone (no loss): what fit records on the training set."""
        plan = self._current(x, "FastStep.error")
        with self._inference:
            wrong = torch.count_nonzero(plan.forward(x).argmax(dim=1) != labels)
        return float(wrong) / max(len(labels), 1)

    def snapshot(self) -> tuple:
        """Copies of the parameters, the optimizer state and hyperparameters: for restore()."""
        self._adopt_if_stale()
        u = self.update
        group = {k: v for k, v in u.optimizer.param_groups[0].items() if k != "params"}
        state = None if u.state is None else [s.clone() for s in u.state]
        steps = None if u.state is None else [s.get("step") for s in u.states]
        return u.P.clone(), state, steps, group

    def restore(self, snapshot: tuple) -> None:
        """Put back what snapshot() copied (values into the same tensors; no state if there was none)."""
        P, state, steps, group = snapshot
        self._adopt_if_stale()
        u = self.update
        u.P.copy_(P)
        if state is None:
            u.optimizer.state.clear()
            u.state = None
        elif u.state is None:
            raise RuntimeError("FastStep.restore: the optimizer lost its state since the snapshot")
        else:
            for flat, saved in zip(u.state, state, strict=True):
                flat.copy_(saved)
            for s, t in zip(u.states, steps, strict=True):
                if t is not None:
                    s["step"] = t
        u.optimizer.param_groups[0].update(group)

    def _adopt_if_stale(self) -> None:
        """Parameters or optimizer state replaced since the last step: gather them again, new plans."""
        if self.update.stale():
            self.update.adopt()
            self._plans.clear()               # their views of the parameters are out of date
            self._seen.clear()

    def finite(self, losses: Tensor) -> bool:
        """Every loss and every parameter finite (one check on the flat parameters)."""
        return bool(torch.isfinite(losses).all() & torch.isfinite(self.update.P).all())

    # -- the plan: buffers for batch size n, and the code over them ------------------------------------
    def _plan(self, n: int) -> SimpleNamespace:
        """For batch size n: one record per layer (its tensors and buffers), then the generated code.

        Layer i's output y (n, out) is dead once backward has multiplied its derivative in, just
        before dL/dx (n, in) is computed: so one buffer of n·max(in, out) entries holds both.
        """
        if len(self._plans) >= 4:            # a few batch sizes (the full and the last); do not grow forever
            self._plans.clear()
            self._seen.clear()
        P = self.update.P
        new = lambda *shape: torch.empty(*shape, dtype=P.dtype, device=P.device)
        layers = []
        for i, (lin, act) in enumerate(self.layers):
            memory = new(n * max(lin.out_features, lin.in_features if i > 0 else 0))
            layers.append(SimpleNamespace(
                act=type(act), slope=getattr(act, "negative_slope", None),
                W=lin.weight.data, WT=lin.weight.data.T, gW=lin.weight.grad,
                b=None if lin.bias is None else lin.bias.data, gb=None if lin.bias is None else lin.bias.grad,
                h=memory[:n * lin.out_features].view(n, lin.out_features),                  # y      (n, out)
                g_in=memory[:n * lin.in_features].view(n, lin.in_features) if i > 0 else None,   # dL/dx
                scratch=new(n, lin.out_features) if type(act) in (LeakyReLU, Sigmoid) else None))
        for below, above in zip(layers, layers[1:] + [None], strict=True):
            below.grad = above.g_in if above else new(n, self.layers[-1][0].out_features)   # dL/dy (n, out)
        out_shape = layers[-1].h.shape
        mse = type(self.criterion) is MSELoss
        plan = SimpleNamespace(layers=layers, out_shape=out_shape, target_shape=out_shape if mse else out_shape[:1],
                               target_dtype=None if mse else torch.long,
                               **_generate(layers, self.criterion, n, new))
        self._plans[n, self.criterion.reduction] = plan
        return plan


# -- code generation: the lines of a step, and the names they use -------------------------------------
def _generate(layers: list[SimpleNamespace], criterion: Loss, n: int, new) -> dict:
    """{"train": f(x, t) -> loss, "forward": f(x) -> output, "value": f(output, t) -> loss, "source": text}."""
    names: dict[str, object] = dict(
        mm=torch.mm, add_relu_=torch._add_relu_, mv=torch.mv, ones=new(n).fill_(1.0), sub=torch.sub,
        dot=torch.dot, neg=torch.neg, log_softmax=torch.log_softmax, gather=torch.gather,
        relu_backward=RELU_BACKWARD, one=_const(1.0, layers[0].h))
    forward = []
    x = "x"
    for i, L in enumerate(layers):
        names.update({f"W{i}": L.W, f"WT{i}": L.WT, f"b{i}": L.b, f"h{i}": L.h, f"g{i}": L.grad,
                      f"gT{i}": L.grad.T, f"gW{i}": L.gW, f"gb{i}": L.gb, f"s{i}": L.scratch})
        h = f"h{i}"
        forward.append(_commented(f"mm({x}, WT{i}, out={h})", "# x Wᵀ"))
        if L.b is not None:                                             # the bias after the product
            forward.append(_commented(f"add_relu_({h}, b{i})", "# y = relu(x Wᵀ + b), one call")
                           if L.act is ReLU else _commented(f"{h}.add_(b{i})", "# x Wᵀ + b"))
        if L.act is ReLU and L.b is None:                               # (with a bias: done above)
            forward.append(f"{h}.relu_()")
        elif L.act is Tanh:
            forward.append(f"{h}.tanh_()")
        elif L.act is Sigmoid:
            forward.append(f"{h}.sigmoid_()")
        elif L.act is LeakyReLU:                                        # the slope, kept for backward:
            slope = f"s{i}.fill_({L.slope!r}).masked_fill_({h} > 0, 1.0)"
            forward += [_commented(slope, "# 1 where x > 0, else a"), f"{h}.mul_(s{i})"]
        x = h
    loss, gradient = _loss_lines(criterion, layers[-1], n, names, new)
    backward = []
    for i in reversed(range(len(layers))):
        L, g, y = layers[i], f"g{i}", f"h{i}"                          # y: not needed after this, so reused
        backward.append(f"# layer {i}")
        if L.act is ReLU:
            backward.append(_commented(f"relu_backward({g}, {y}, 0, grad_input={g})", "# g where y > 0, else 0"))
        elif L.act is Tanh:
            backward.append(_commented(f"{g}.mul_({y}.mul_({y}).neg_().add_(one))", "# 1 - y²"))
        elif L.act is Sigmoid:
            backward.append(_commented(f"{g}.mul_(neg({y}, out=s{i}).add_(one).mul_({y}))", "# (1 - y) y"))
        elif L.act is LeakyReLU:
            backward.append(_commented(f"{g}.mul_(s{i})", "# the slope from forward"))
        backward.append(_commented(f"mm(gT{i}, {f'h{i - 1}' if i > 0 else 'x'}, out=gW{i})", "# dL/dW = gᵀ x"))
        if L.gb is not None:
            backward.append(_commented(f"mv(gT{i}, ones, out=gb{i})", "# dL/db = Σ_n g = gᵀ 1"))
        if i > 0:
            backward.append(_commented(f"mm({g}, W{i}, out=g{i - 1})", "# dL/dx = g W"))
    last = f"h{len(layers) - 1}"
    indent = lambda lines: "".join(f"    {line}\n" for line in lines)
    source = (f"def train(x, t):\n{indent(forward)}    out = {last}\n{indent(loss + gradient + backward)}"
              f"    return loss\n\n"
              f"def forward(x):\n{indent(forward)}    return {last}\n\n"
              f"def value(out, t):\n{indent(loss)}    return loss\n")
    exec(builtins.compile(source, f"<minidl.fast step, batch size {n}>", "exec"), names)   # noqa: S102
    return {"train": names["train"], "forward": names["forward"], "value": names["value"],
            "source": source.split("\n\ndef forward")[0] + "\n"}


def _commented(code: str, comment: str) -> str:
    """A generated line with its comment lined up."""
    return f"{code.ljust(44)}  {comment}" if len(code) >= 44 else f"{code.ljust(44)}{comment}"


def _loss_lines(criterion: Loss, L: SimpleNamespace, n: int, names: dict, new) -> tuple[list[str], list[str]]:
    """(the loss value's lines, the lines writing dL/dout into the last layer's grad): MSE the same numbers
    as losses.py; cross-entropy fewer ops, rounded differently (see the module docstring)."""
    out = L.h
    count = (out.numel() if type(criterion) is MSELoss else n) if criterion.reduction == "mean" else 1
    names.update(dout=L.grad, grad_flat=L.grad.view(-1), count=_const(count, out), scale=_const(2.0 / count, out),
                 inv_n=_const(1.0 / count, out))
    if type(criterion) is MSELoss:
        return ([_commented("diff = sub(out, t, out=dout)", "# ŷ - y"),
                 _commented("loss = dot(grad_flat, grad_flat) / count", "# Σ (ŷ - y)² / M: 2 ops, not 3")],
                [_commented("diff.mul_(scale)", "# dL/dŷ = (2/M)(ŷ - y)")])
    column = new(n, 1)
    names.update(column=column, column_flat=column.view(-1), minus_one=new(n, 1).fill_(-1),
                 weights=new(n).fill_(-1.0 / count),
                 INDEX_ERROR=f"FastStep.step: CrossEntropyLoss target: class indices must be in "
                             f"[0, {out.shape[1]})")
    return ([_commented("log_p = log_softmax(out, dim=1, out=dout)", "# x - max - log Σ exp(x - max)"),
             "index = t.view(-1, 1)",
             "try:",
             _commented("    gather(log_p, 1, index, out=column)", "# log p[y]   (N, 1)"),
             "except (RuntimeError, IndexError) as e:",
             "    raise ValueError(INDEX_ERROR) from e",
             _commented("loss = dot(column_flat, weights)", "# -Σ log p[y] / N in one op")],
            [_commented("log_p.exp_().scatter_add_(1, index, minus_one)", "# softmax(x) - onehot(y)"),
             _commented("log_p.mul_(inv_n)", "# dL/dout = (softmax - onehot) / N")])
