"""SGD, RMSprop, Adam and AdamW take exactly torch.optim's steps (float64, 50 steps, to 1e-10); StepLR and
CosineAnnealingLR set torch.optim.lr_scheduler's learning rates (to 1e-14 of the base lr)."""

import math
import re

import pytest
import torch

import minidl as md

F64 = torch.float64
SHAPES = [(3, 4), (4,), (1, 1), (2, 3)]


def run_both(make_ours, make_theirs, steps=50, lr_schedule=None, seed=0):
    """Drive minidl and torch.optim with the same gradients; return the largest difference seen."""
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=F64) for s in SHAPES]
    ours = [md.Parameter(t.clone()) for t in start]
    theirs = [t.clone().requires_grad_(True) for t in start]
    opt, topt = make_ours(ours), make_theirs(theirs)
    worst = 0.0
    for step in range(steps):
        if lr_schedule is not None:
            opt.lr = lr_schedule(step)
            for g in topt.param_groups:
                g["lr"] = lr_schedule(step)
        for p, t in zip(ours, theirs, strict=True):
            grad = torch.randn(p.shape, generator=gen, dtype=F64) + 0.1 * p.data   # a loss-like gradient
            p.grad.copy_(grad)
            t.grad = grad.clone()
        opt.step()
        topt.step()
        worst = max(worst, max(float((p.data - t.detach()).abs().max()) for p, t in zip(ours, theirs, strict=True)))
    return worst


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight decay": dict(lr=0.1, weight_decay=0.01),
    "everything": dict(lr=0.02, momentum=0.5, weight_decay=1e-3, nesterov=True),
}
ADAM_CASES = {
    "default": dict(lr=1e-2),
    "betas": dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6),
    "weight decay": dict(lr=1e-2, weight_decay=0.05),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_matches_torch(case):
    kw = SGD_CASES[case]
    assert run_both(lambda p: md.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw)) < 1e-10


@pytest.mark.parametrize("case", list(ADAM_CASES))
def test_adam_matches_torch(case):
    kw = ADAM_CASES[case]
    assert run_both(lambda p: md.Adam(p, **kw), lambda p: torch.optim.Adam(p, **kw)) < 1e-10


RMSPROP_CASES = {
    "default": dict(),
    "alpha eps": dict(lr=3e-3, alpha=0.9, eps=1e-6),
    "weight decay": dict(lr=1e-2, weight_decay=0.05),
    "momentum": dict(lr=1e-3, momentum=0.9),
    "everything": dict(lr=2e-3, alpha=0.95, eps=1e-7, weight_decay=1e-2, momentum=0.5),
}
ADAMW_CASES = {
    "default": dict(),                                   # weight_decay 0.01, torch's default too
    "strong decay": dict(lr=1e-2, weight_decay=0.5),
    "betas": dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "no decay": dict(lr=1e-2, weight_decay=0.0),
}


@pytest.mark.parametrize("case", list(RMSPROP_CASES))
def test_rmsprop_matches_torch(case):
    kw = RMSPROP_CASES[case]
    assert run_both(lambda p: md.RMSprop(p, **kw), lambda p: torch.optim.RMSprop(p, **kw)) < 1e-10


@pytest.mark.parametrize("case", list(ADAMW_CASES))
def test_adamw_matches_torch(case):
    kw = ADAMW_CASES[case]
    assert run_both(lambda p: md.AdamW(p, **kw), lambda p: torch.optim.AdamW(p, **kw)) < 1e-10


def test_the_defaults_are_torchs():
    import inspect
    for ours, theirs in [(md.RMSprop, torch.optim.RMSprop), (md.AdamW, torch.optim.AdamW)]:
        mine = inspect.signature(ours).parameters
        for name, parameter in mine.items():
            if name not in ("params", "l1"):                  # l1 is minidl's own (0: off)
                assert parameter.default == inspect.signature(theirs).parameters[name].default, (ours, name)
        assert mine["l1"].default == 0.0 and mine["l1"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("make, make_t", [
    (lambda p: md.Adam(p, lr=1e-2, weight_decay=0.5), lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.5)),
    (lambda p: md.AdamW(p, lr=1e-2, weight_decay=0.5), lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.5)),
    (lambda p: md.RMSprop(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.0, 0.99))),
])
def test_negative_control_l2_and_decoupled_decay_differ_and_rmsprop_is_not_adam(make, make_t):
    """The parity machinery tells these apart: L2 decay inside Adam is not AdamW's decoupled decay, and
    RMSprop is not Adam with β₁ = 0 (Adam's bias correction of v differs in the first steps)."""
    assert run_both(make, make_t) > 1e-4


@pytest.mark.parametrize("make, make_t", [
    (lambda p: md.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    (lambda p: md.Adam(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
    (lambda p: md.AdamW(p, lr=0.1), lambda p: torch.optim.AdamW(p, lr=0.1)),
    (lambda p: md.RMSprop(p, lr=0.1, momentum=0.5, weight_decay=0.1),
     lambda p: torch.optim.RMSprop(p, lr=0.1, momentum=0.5, weight_decay=0.1)),
])
def test_learning_rate_changed_between_steps_is_followed(make, make_t):
    assert run_both(make, make_t, lr_schedule=lambda s: 0.1 / (1 + s)) < 1e-10


def test_negative_control_adam_without_bias_correction_does_not_match():
    class NoBiasCorrection(md.Adam):
        def step(self):
            for group in self.param_groups:
                lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
                for p in group["params"]:
                    s = self.state.setdefault(p, {"m": torch.zeros_like(p.data), "v": torch.zeros_like(p.data)})
                    s["m"].mul_(b1).add_(p.grad, alpha=1 - b1)
                    s["v"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                    p.data.addcdiv_(s["m"], s["v"].sqrt().add_(eps), value=-lr)
    assert run_both(lambda p: NoBiasCorrection(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)) > 1e-3


def test_param_groups_with_their_own_learning_rates():
    a, b = md.Parameter(torch.ones(2)), md.Parameter(torch.ones(2))
    opt = md.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad.fill_(1.0)
    b.grad.fill_(1.0)
    opt.step()
    assert torch.allclose(a.data, torch.full((2,), 0.9)) and torch.allclose(b.data, torch.zeros(2))
    opt.lr = 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5] and opt.lr == 0.5


def test_zero_grad_resets_every_gradient():
    model = md.Sequential(md.Linear(2, 3), md.Linear(3, 1))
    for p in model.parameters():
        p.grad.fill_(3.0)
    md.SGD(model.parameters(), lr=0.1).zero_grad()
    assert all((p.grad == 0).all() for p in model.parameters())


@pytest.mark.parametrize("make", [lambda p: md.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda p: md.Adam(p, lr=0.05), lambda p: md.AdamW(p, lr=0.05, weight_decay=0.1),
                                  lambda p: md.RMSprop(p, lr=0.01, momentum=0.9, weight_decay=0.01),
                                  lambda p: md.RMSprop(p, lr=0.01)],
                         ids=["sgd", "adam", "adamw", "rmsprop-momentum", "rmsprop"])
def test_state_dict_round_trip_continues_identically(make):
    torch.manual_seed(0)
    a = [md.Parameter(torch.randn(3, 2, dtype=F64)), md.Parameter(torch.randn(3, dtype=F64))]
    b = [md.Parameter(p.data.clone()) for p in a]
    opt_a = make(a)
    grads = [[torch.randn_like(p.data) for p in a] for _ in range(10)]
    for step in range(5):
        for p, g in zip(a, grads[step], strict=True):
            p.grad.copy_(g)
        opt_a.step()
    for p, q in zip(a, b, strict=True):
        q.data.copy_(p.data)
    opt_b = make(b)
    opt_b.load_state_dict(opt_a.state_dict())
    for step in range(5, 10):
        for p, q, g in zip(a, b, grads[step], strict=True):
            p.grad.copy_(g)
            q.grad.copy_(g)
        opt_a.step()
        opt_b.step()
    for p, q in zip(a, b, strict=True):
        assert torch.equal(p.data, q.data)


def test_state_dict_is_a_copy_and_a_bad_one_changes_nothing():
    p = md.Parameter(torch.ones(3))
    opt = md.SGD([p], lr=0.1, momentum=0.9)
    p.grad.fill_(1.0)
    opt.step()
    saved = opt.state_dict()
    opt.step()
    assert not torch.equal(saved["state"][0]["momentum_buffer"], opt.state[p]["momentum_buffer"])
    bad = {"state": {0: {"momentum_buffer": torch.zeros(4)}}, "param_groups": saved["param_groups"]}
    before = opt.state[p]["momentum_buffer"].clone()
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: state 'momentum_buffer' of parameter 0: expected "
                                         r"shape \(3,\), got \(4,\)"):
        opt.load_state_dict(bad)
    assert torch.equal(opt.state[p]["momentum_buffer"], before)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups' keys"):
        opt.load_state_dict({})
    with pytest.raises(ValueError, match=r"group sizes \[2\] differ from this optimizer's \[1\]"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1]}]})


def test_works_with_autograd_off_and_in_float32(no_grad):
    p = md.Parameter(torch.ones(4))
    for opt in [md.SGD([p], lr=0.1, momentum=0.9), md.Adam([p]), md.AdamW([p]), md.RMSprop([p], momentum=0.9)]:
        p.grad.fill_(0.5)
        opt.step()
        assert p.data.dtype == torch.float32 and not p.data.requires_grad


P = [md.Parameter(torch.zeros(2))]


@pytest.mark.parametrize("make, error, message", [
    (lambda: md.SGD(P, lr=-0.1), ValueError, r"SGD: lr must be >= 0, got -0.1"),
    (lambda: md.SGD(P, lr=0.1, momentum=1.0), ValueError, r"SGD: momentum must be in \[0, 1\), got 1.0"),
    (lambda: md.SGD(P, lr=0.1, momentum=-0.5), ValueError, r"SGD: momentum must be in \[0, 1\), got -0.5"),
    (lambda: md.SGD(P, lr=0.1, dampening=2), ValueError, r"SGD: dampening must be in \[0, 1\], got 2"),
    (lambda: md.SGD(P, lr=0.1, weight_decay=-1), ValueError, r"SGD: weight_decay must be >= 0, got -1"),
    (lambda: md.SGD(P, lr=0.1, nesterov=True), ValueError,
     r"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum=0, dampening=0"),
    (lambda: md.SGD(P, lr=0.1, nesterov="yes"), TypeError, r"SGD: nesterov must be True or False, got 'yes'"),
    (lambda: md.Adam(P, betas=(0.9, 1.0)), ValueError, r"Adam: betas\[1\] must be in \[0, 1\), got 1.0"),
    (lambda: md.Adam(P, betas=0.9), ValueError, r"Adam: betas must be a pair \(β₁, β₂\), got 0.9"),
    (lambda: md.Adam(P, eps=-1e-8), ValueError, r"Adam: eps must be >= 0, got -1e-08"),
    (lambda: md.Adam(P, lr=float("nan")), ValueError, r"Adam: lr must be >= 0, got nan"),
    (lambda: md.AdamW(P, betas=(1.5, 0.9)), ValueError, r"AdamW: betas\[0\] must be in \[0, 1\), got 1.5"),
    (lambda: md.AdamW(P, weight_decay=-0.01), ValueError, r"AdamW: weight_decay must be >= 0, got -0.01"),
    (lambda: md.AdamW(P, lr=-1), ValueError, r"AdamW: lr must be >= 0, got -1"),
    (lambda: md.RMSprop(P, alpha=1.0), ValueError, r"RMSprop: alpha must be in \[0, 1\), got 1.0"),
    (lambda: md.RMSprop(P, alpha="0.9"), ValueError, r"RMSprop: alpha must be in \[0, 1\), got '0.9'"),
    (lambda: md.RMSprop(P, eps=-1), ValueError, r"RMSprop: eps must be >= 0, got -1"),
    (lambda: md.RMSprop(P, momentum=1), ValueError, r"RMSprop: momentum must be in \[0, 1\), got 1"),
    (lambda: md.RMSprop(P, weight_decay=float("inf")), ValueError, r"RMSprop: weight_decay must be >= 0, got inf"),
    (lambda: md.RMSprop(P, lr=float("inf")), ValueError, r"RMSprop: lr must be >= 0, got inf"),
    (lambda: md.SGD([], lr=0.1), ValueError, r"SGD: got an empty parameter list"),
    (lambda: md.SGD([P[0], torch.zeros(2)], lr=0.1), TypeError,
     r"SGD: params\[1\] must be a minidl Parameter \(pass model.parameters\(\)\), got Tensor"),
    (lambda: md.SGD([{"params": P}, {"params": P}], lr=0.1), ValueError,
     r"SGD: params\[0\] appears in more than one parameter group"),
    (lambda: md.SGD([{"lr": 0.1}], lr=0.1), TypeError, r"SGD: a parameter group must be a dict with a 'params' key"),
])
def test_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_zero_learning_rate_is_allowed_as_in_torch_and_takes_no_step():
    """A schedule may reach lr = 0 (cosine with eta_min = 0 at T_max); the optimizer must take it, and
    load a state dict that holds it, as torch does."""
    p = md.Parameter(torch.ones(3))
    opt = md.RMSprop([p], lr=0.0, momentum=0.5)
    p.grad.fill_(1.0)
    opt.step()
    assert torch.equal(p.data, torch.ones(3))
    again = md.RMSprop([md.Parameter(torch.ones(3))], lr=0.1, momentum=0.5)
    again.load_state_dict(opt.state_dict())
    assert again.lr == 0.0 and torch.optim.RMSprop([torch.ones(1)], lr=0.0).param_groups[0]["lr"] == 0.0


def test_setting_a_bad_lr_live_is_refused_and_keeps_the_old_one():
    opt = md.SGD(P, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: lr must be >= 0, got -1"):
        opt.lr = -1
    assert opt.lr == 0.1


# ---------------------------------------------------------------- load_state_dict: checked whole, transactional
def _trained(kind):
    """An optimizer with two groups and state for every parameter (float32 parameters)."""
    torch.manual_seed(0)
    a, b = md.Parameter(torch.randn(3, 2)), md.Parameter(torch.randn(3))
    if kind == "sgd":
        opt = md.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9, nesterov=True)
    else:
        make = {"adam": md.Adam, "adamw": md.AdamW,
                "rmsprop": lambda *args, **kw: md.RMSprop(*args, momentum=0.9, **kw)}
        opt = make[kind]([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    for _ in range(2):
        for p in (a, b):
            p.grad.copy_(torch.randn_like(p.data))
        opt.step()
    return opt


def _everything(opt):
    """Every hyperparameter and every state value, copied, with the identity of the live objects."""
    groups = [({k: v for k, v in g.items() if k != "params"}, [id(p) for p in g["params"]]) for g in opt.param_groups]
    state = {id(p): {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
             for p, s in opt.state.items()}
    return groups, state, id(opt.state), [id(g) for g in opt.param_groups]


def _assert_same(before, after):
    assert before[0] == after[0] and before[2:] == after[2:]
    assert before[1].keys() == after[1].keys()
    for pid, s in before[1].items():
        assert s.keys() == after[1][pid].keys()
        for k, v in s.items():
            w = after[1][pid][k]
            assert (torch.equal(v, w) and v.dtype == w.dtype) if isinstance(v, torch.Tensor) else v == w


def _set(path, value):
    """A change to a copy of a good state dict: path into it (the last key is set, or deleted if value is DELETE)."""
    def change(sd):
        *head, last = path
        node = sd
        for k in head:
            node = node[k]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value(node[last]) if callable(value) else value
        return sd
    return change


DELETE = object()
SGD_BAD = [
    (_set(("param_groups", 0, "lr"), -5), ValueError, r"param_groups\[0\]: lr must be >= 0, got -5$"),
    (_set(("param_groups", 1, "lr"), float("inf")), ValueError, r"param_groups\[1\]: lr must be >= 0, got inf$"),
    (_set(("param_groups", 0, "momentum"), 3), ValueError, r"param_groups\[0\]: momentum must be in \[0, 1\), got 3$"),
    (_set(("param_groups", 0, "nesterov"), "yes"), TypeError,
     r"param_groups\[0\]: nesterov must be True or False, got 'yes'$"),
    (_set(("param_groups", 1, "dampening"), 0.5), ValueError, r"param_groups\[1\]: nesterov=True needs momentum > 0"),
    (_set(("param_groups", 0, "weight_decay"), "0"), ValueError,
     r"param_groups\[0\]: weight_decay must be >= 0, got '0'$"),
    (_set(("param_groups", 1, "betas"), (0.9, 0.99)), ValueError,
     r"param_groups\[1\]: unexpected hyperparameter 'betas' \(expected \['dampening', 'l1', 'lr', 'momentum', "
     r"'nesterov', 'weight_decay'\]\)$"),
    (_set(("param_groups", 1, "l1"), -0.5), ValueError, r"param_groups\[1\]: l1 must be >= 0, got -0.5$"),
    (_set(("param_groups", 0, "l1"), float("nan")), ValueError, r"param_groups\[0\]: l1 must be >= 0, got nan$"),
    (_set(("param_groups", 0, "momentum"), DELETE), ValueError,
     r"param_groups\[0\]: missing hyperparameter 'momentum'"),
    (_set(("state",), lambda s: {"a": s[0]}), ValueError,
     r"'state' keys must be parameter indices, ints in \[0, 2\), got 'a'$"),
    (_set(("state",), lambda s: {1.0: s[1]}), ValueError, r"ints in \[0, 2\), got 1.0$"),
    (_set(("state",), lambda s: {True: s[1]}), ValueError, r"ints in \[0, 2\), got True$"),
    (_set(("state",), lambda s: {0: s[0], 2: s[1]}), ValueError, r"ints in \[0, 2\), got 2$"),
    (_set(("state",), lambda s: {0: s[0], -1: s[1]}), ValueError, r"ints in \[0, 2\), got -1$"),
    (_set(("state",), [1, 2]), TypeError, r"'state' must be a dict \{parameter index: \{name: value\}\}, got list$"),
    (_set(("state", 1), [1]), TypeError, r"state of parameter 1: expected a dict, got list$"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t[:2]), ValueError,
     r"state 'momentum_buffer' of parameter 1: expected shape \(3,\), got \(2,\)$"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t.long()), TypeError,
     r"state 'momentum_buffer' of parameter 1: expected a floating-point tensor like torch.float32, got torch.int64"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t.to(torch.complex64)), TypeError,
     r"got torch.complex64 \(no silent cast"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t > 0), TypeError,
     r"got torch.bool \(no silent cast between number kinds\)$"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t.to("meta")), ValueError,
     r"state 'momentum_buffer' of parameter 1: expected a tensor on cpu, got meta$"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t.tolist()), TypeError,
     r"state 'momentum_buffer' of parameter 1: expected a tensor, got list$"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t.double() * 1e300), ValueError,
     r"state 'momentum_buffer' of parameter 1\[\d+\]: \S+ does not fit in torch.float32 \(it would become -?inf\)$"),
    (_set(("state", 1), lambda s: {**s, "velocity": s["momentum_buffer"]}), ValueError,
     r"state of parameter 1: unexpected key 'velocity' \(expected \['momentum_buffer'\]\)$"),
    (lambda sd: {**sd, "extra": 1}, ValueError,
     r"expected a dict with 'state' and 'param_groups' keys \(only\), got keys \['extra', 'param_groups', 'state'\]$"),
    (lambda sd: [sd], ValueError, r"expected a dict with 'state' and 'param_groups' keys \(only\), got list$"),
    (_set(("param_groups",), lambda g: g[0]), TypeError,
     r"'param_groups' must be a list of dicts with a 'params' list"),
    (_set(("param_groups",), lambda g: g[:1]), ValueError, r"group sizes \[1\] differ from this optimizer's \[1, 1\]$"),
]
ADAM_BAD = [
    (_set(("param_groups", 1, "betas"), (0.9, 1.0)), ValueError,
     r"param_groups\[1\]: betas\[1\] must be in \[0, 1\), got 1.0$"),
    (_set(("param_groups", 1, "eps"), -1), ValueError, r"param_groups\[1\]: eps must be >= 0, got -1$"),
    (_set(("state", 1, "step"), 0), ValueError, r"state 'step' of parameter 1 must be an int >= 1, got 0$"),
    (_set(("state", 1, "step"), 2.0), ValueError, r"state 'step' of parameter 1 must be an int >= 1, got 2.0$"),
    (_set(("state", 1, "step"), True), ValueError, r"got True$"),
    (_set(("state", 1, "exp_avg_sq"), DELETE), ValueError,
     r"state of parameter 1: missing key 'exp_avg_sq' \(expected \['exp_avg', 'exp_avg_sq', 'step'\]\)$"),
    (_set(("state", 1, "exp_avg"), lambda t: t.to(torch.float16)), None, None),   # another precision: converted
]
RMSPROP_BAD = [
    (_set(("param_groups", 0, "alpha"), 1.0), ValueError, r"param_groups\[0\]: alpha must be in \[0, 1\), got 1.0$"),
    (_set(("param_groups", 1, "momentum"), -0.1), ValueError,
     r"param_groups\[1\]: momentum must be in \[0, 1\), got -0.1$"),
    (_set(("state", 0, "square_avg"), DELETE), ValueError,
     r"state of parameter 0: missing key 'square_avg' \(expected \['momentum_buffer', 'square_avg', 'step'\]\)$"),
    (_set(("state", 0), lambda s: {**s, "grad_avg": s["square_avg"]}), ValueError,
     r"state of parameter 0: unexpected key 'grad_avg'"),
    (_set(("state", 1, "momentum_buffer"), lambda t: t[:1]), ValueError,
     r"state 'momentum_buffer' of parameter 1: expected shape \(3,\), got \(1,\)$"),
    (_set(("state", 1, "momentum_buffer"), DELETE), None, None),   # optional: made again at the next step
]
ADAMW_BAD = [
    (_set(("param_groups", 0, "weight_decay"), -1), ValueError, r"param_groups\[0\]: weight_decay must be >= 0"),
    (_set(("param_groups", 0, "l1"), "0.1"), ValueError, r"param_groups\[0\]: l1 must be >= 0, got '0.1'$"),
    (_set(("state", 0, "exp_avg"), DELETE), ValueError, r"state of parameter 0: missing key 'exp_avg'"),
]
CASES = [("sgd", *c) for c in SGD_BAD] + [("adam", *c) for c in ADAM_BAD] + \
    [("rmsprop", *c) for c in RMSPROP_BAD] + [("adamw", *c) for c in ADAMW_BAD]


@pytest.mark.parametrize("kind, change, error, message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_load_state_dict_checks_everything_first_and_a_failure_changes_nothing(kind, change, error, message):
    source, opt = _trained(kind), _trained(kind)
    for p in opt._all_params():                            # a different state to overwrite
        p.grad.fill_(1.0)
    opt.step()
    bad = change(source.state_dict())
    before = _everything(opt)
    if error is None:
        opt.load_state_dict(bad)
        assert all(v.dtype == torch.float32 for s in opt.state.values() for v in s.values()
                   if isinstance(v, torch.Tensor))
        return
    with pytest.raises(error) as err:
        opt.load_state_dict(bad)
    assert str(err.value).startswith(f"{type(opt).__name__}.load_state_dict: ") and "\n" not in str(err.value)
    assert re.search(message, str(err.value)), str(err.value)
    _assert_same(before, _everything(opt))


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw", "rmsprop"])
def test_a_good_state_dict_loads_whole_and_the_check_can_see_a_change(kind):
    """The positive control for the test above: a good load does change what _everything sees."""
    source, opt = _trained(kind), _trained(kind)
    opt.param_groups[1]["lr"] = 0.5
    for p in opt._all_params():
        p.grad.fill_(1.0)
    opt.step()
    before = _everything(opt)
    opt.load_state_dict(source.state_dict())
    with pytest.raises(AssertionError):
        _assert_same(before, _everything(opt))
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in source.param_groups]
    for p, q in zip(opt._all_params(), source._all_params(), strict=True):
        assert opt.state[p].keys() == source.state[q].keys()
        for k, v in opt.state[p].items():
            assert torch.equal(v, source.state[q][k]) if isinstance(v, torch.Tensor) else v == source.state[q][k]


# ---------------------------------------------------------------- learning-rate schedules
SCHEDULES = {        # name: (ours, torch's, T: the run covers 3·T epochs)
    "step": (lambda o: md.optim.StepLR(o, step_size=3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3), 3),
    "step gamma": (lambda o: md.optim.StepLR(o, 7, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.5), 7),
    "step 1": (lambda o: md.optim.StepLR(o, 1, gamma=0.9), lambda o: torch.optim.lr_scheduler.StepLR(o, 1, 0.9), 20),
    "cosine": (lambda o: md.optim.CosineAnnealingLR(o, T_max=10),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10), 10),
    "cosine eta_min": (lambda o: md.optim.CosineAnnealingLR(o, 7, eta_min=0.01),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, eta_min=0.01), 7),
    "cosine long": (lambda o: md.optim.CosineAnnealingLR(o, 100, 5e-3),
                    lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 100, 5e-3), 100),
    "cosine 1": (lambda o: md.optim.CosineAnnealingLR(o, 1),
                 lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 1), 1),
}
LRS = (0.1, 1.0)


def schedule_both(name, lrs=LRS, change_at=None):
    """Our schedule and torch's, each on an SGD with one group per lr: the lrs they set, epoch by epoch
    (epoch 0 = before the first step), over 3·T epochs (past T_max for the cosine). ``change_at``: an
    epoch after which both optimizers' lrs are halved by hand."""
    ours, theirs, T = SCHEDULES[name]
    opt = md.SGD([{"params": [md.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs], lr=0.5)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], lr=0.5)
    sched, tsched = ours(opt), theirs(topt)
    mine, torchs = [sched.get_last_lr()], [tsched.get_last_lr()]
    for epoch in range(1, 3 * T + 1):
        topt.step()                                       # torch warns if its schedule steps first
        sched.step()
        tsched.step()
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr() and sched.last_epoch == epoch
        assert [g["lr"] for g in topt.param_groups] == tsched.get_last_lr()
        mine.append(sched.get_last_lr())
        torchs.append(tsched.get_last_lr())
        if epoch == change_at:
            for group, tgroup in zip(opt.param_groups, topt.param_groups, strict=True):
                group["lr"] = tgroup["lr"] = group["lr"] / 2
    return torch.tensor(mine, dtype=F64), torch.tensor(torchs, dtype=F64)


def closed_form(name, epochs):
    """The schedule's formula, lr(e) for e = 0 .. epochs, one column per base lr in LRS."""
    sched = SCHEDULES[name][0](md.SGD([md.Parameter(torch.zeros(1))], lr=0.1))
    e, base = torch.arange(epochs + 1, dtype=F64)[:, None], torch.tensor(LRS, dtype=F64)
    if isinstance(sched, md.optim.StepLR):
        return base * sched.gamma ** torch.div(e, sched.step_size, rounding_mode="floor")
    return sched.eta_min + (base - sched.eta_min) * (1 + torch.cos(math.pi * e / sched.T_max)) / 2


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_set_torchs_learning_rates_bit_for_bit(name):
    mine, torchs = schedule_both(name)
    assert mine.shape == torchs.shape == (3 * SCHEDULES[name][2] + 1, 2)
    assert torch.equal(mine, torchs)
    assert float((mine[1:] - mine[:-1]).abs().max()) > 1e-3                # the lrs do change


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_follow_their_closed_form_to_rounding(name):
    """Computed as torch does (from the current lr), the values are the docstring's formula: torch's
    repeated products drift by rounding only (measured: 1.9e-14 of the base lr at worst, "cosine long")."""
    mine, _ = schedule_both(name)
    exact = closed_form(name, len(mine) - 1)
    assert float(((mine - exact).abs() / torch.tensor(LRS, dtype=F64)).max()) <= 1e-13


@pytest.mark.parametrize("name", ["step gamma", "cosine eta_min"])
def test_an_lr_changed_by_hand_is_followed_as_in_torch(name):
    mine, torchs = schedule_both(name, change_at=4)
    assert torch.equal(mine, torchs)
    unchanged, _ = schedule_both(name)
    assert float((mine - unchanged).abs().max()) > 1e-3


def test_the_landmarks():
    opt = md.SGD([md.Parameter(torch.zeros(1))], lr=0.2)
    step = md.optim.StepLR(opt, step_size=4, gamma=0.5)
    lrs = []
    for _ in range(12):
        lrs.append(opt.lr)
        step.step()
    assert lrs == [0.2] * 4 + [0.1] * 4 + [0.05] * 4
    cos = md.optim.CosineAnnealingLR(md.SGD([md.Parameter(torch.zeros(1))], lr=0.2), T_max=8, eta_min=0.02)
    lrs = [cos.get_last_lr()[0]] + [(cos.step(), cos.get_last_lr()[0])[1] for _ in range(16)]
    assert lrs[0] == 0.2 and lrs[8] == 0.02 and abs(lrs[16] - 0.2) < 1e-15       # down at T_max, up again at 2·T_max
    assert abs(lrs[4] - 0.11) < 1e-15 and all(a > b for a, b in zip(lrs[:8], lrs[1:9], strict=True))


def test_negative_control_a_cosine_off_by_one_epoch_does_not_match_torch():
    class Late(md.optim.CosineAnnealingLR):
        def next_lr(self, epoch, lr, base_lr):
            return super().next_lr(epoch - 1, lr, base_lr) if epoch > 1 else lr
    SCHEDULES["late"] = (lambda o: Late(o, 10), SCHEDULES["cosine"][1], 10)
    try:
        mine, torchs = schedule_both("late")
    finally:
        del SCHEDULES["late"]
    assert float((mine - torchs).abs().max()) > 1e-3


@pytest.mark.parametrize("name", ["step gamma", "cosine eta_min"])
def test_schedule_state_dict_round_trip_continues_identically(name):
    """As in torch: the schedule's state_dict and the optimizer's (which holds the lr) together."""
    ours, _, T = SCHEDULES[name]
    a, b = md.SGD([md.Parameter(torch.zeros(1))], lr=0.3), md.SGD([md.Parameter(torch.zeros(1))], lr=0.3)
    sa, sb = ours(a), ours(b)
    for _ in range(T + 2):
        sa.step()
    saved = sa.state_dict()
    sb.load_state_dict(saved)
    assert b.lr == 0.3 and sb.get_last_lr() == sa.get_last_lr() != [0.3]    # the optimizer's lr: left alone
    b.load_state_dict(a.state_dict())
    for _ in range(2 * T):
        sa.step()
        sb.step()
        assert sb.get_last_lr() == sa.get_last_lr() and b.lr == a.lr
    assert saved["last_epoch"] == T + 2 and sa.state_dict()["last_epoch"] == 3 * T + 2
    saved["base_lrs"].append(1.0)                                        # a copy: sa is not changed
    saved["last_lr"].append(1.0)
    assert len(sa.base_lrs) == len(sa.last_lr) == 1


@pytest.mark.parametrize("make, error, message", [
    (lambda o: md.optim.StepLR(o, 0), ValueError, r"StepLR: step_size must be a positive int, got 0$"),
    (lambda o: md.optim.StepLR(o, 2.0), ValueError, r"StepLR: step_size must be a positive int, got 2.0$"),
    (lambda o: md.optim.StepLR(o, 2, gamma=0), ValueError, r"StepLR: gamma must be > 0, got 0$"),
    (lambda o: md.optim.StepLR(o, 2, gamma=float("nan")), ValueError, r"StepLR: gamma must be > 0, got nan$"),
    (lambda o: md.optim.CosineAnnealingLR(o, T_max=-3), ValueError,
     r"CosineAnnealingLR: T_max must be a positive int, got -3$"),
    (lambda o: md.optim.CosineAnnealingLR(o, 10, eta_min=-0.1), ValueError,
     r"CosineAnnealingLR: eta_min must be >= 0, got -0.1$"),
    (lambda o: md.optim.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 2), TypeError,
     r"StepLR: optimizer must be a minidl Optimizer \(md.SGD\(...\), md.Adam\(...\)\), got SGD$"),
    (lambda o: md.optim.CosineAnnealingLR(None, 2), TypeError, r"got NoneType$"),
])
def test_schedule_errors(make, error, message):
    opt = md.SGD([md.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(error, match=message):
        make(opt)
    assert opt.lr == 0.1


@pytest.mark.parametrize("change, error, message", [
    (lambda sd: {**sd, "gamma": 0.5}, ValueError,
     r"expected a dict with keys \['T_max', 'base_lrs', 'eta_min', 'last_epoch', 'last_lr'\], got keys \['T_max', "
     r"'base_lrs', 'eta_min', 'gamma', 'last_epoch', 'last_lr'\]$"),
    (lambda sd: [sd], ValueError, r"expected a dict with keys .*, got list$"),
    (lambda sd: {**sd, "T_max": 0}, ValueError, r"T_max must be a positive int, got 0$"),
    (lambda sd: {**sd, "eta_min": -1.0}, ValueError, r"eta_min must be >= 0, got -1.0$"),
    (lambda sd: {**sd, "base_lrs": [0.1]}, ValueError,
     r"base_lrs must be a list of 2 lrs \(one per parameter group\), got \[0.1\]$"),
    (lambda sd: {**sd, "base_lrs": [0.1, -2]}, ValueError, r"base_lrs\[1\] must be >= 0, got -2$"),
    (lambda sd: {**sd, "last_lr": (0.1, float("nan"))}, ValueError, r"last_lr\[1\] must be >= 0, got nan$"),
    (lambda sd: {**sd, "last_lr": 0.1}, ValueError, r"last_lr must be a list of 2 lrs"),
    (lambda sd: {**sd, "last_epoch": -1}, ValueError, r"last_epoch must be an int >= 0, got -1$"),
    (lambda sd: {**sd, "last_epoch": 2.0}, ValueError, r"last_epoch must be an int >= 0, got 2.0$"),
])
def test_schedule_load_state_dict_checks_first_and_a_failure_changes_nothing(change, error, message):
    opt = md.SGD([{"params": [md.Parameter(torch.zeros(1))]}, {"params": [md.Parameter(torch.zeros(1))]}], lr=0.1)
    sched = md.optim.CosineAnnealingLR(opt, 10, eta_min=0.01)
    for _ in range(3):
        sched.step()
    other = md.optim.CosineAnnealingLR(md.SGD([{"params": [md.Parameter(torch.zeros(1))], "lr": 1.0},
                                               {"params": [md.Parameter(torch.zeros(1))]}], lr=0.5), 4)
    other.step()
    good = other.state_dict()
    before = sched.state_dict()
    with pytest.raises(error) as err:
        sched.load_state_dict(change(good))
    assert str(err.value).startswith("CosineAnnealingLR.load_state_dict: ") and re.search(message, str(err.value))
    assert sched.state_dict() == before
    sched.load_state_dict(good)                                          # the positive control
    assert sched.state_dict() == good != before


def test_a_schedule_refuses_to_step_an_optimizer_whose_groups_changed():
    opt = md.SGD([md.Parameter(torch.zeros(1))], lr=0.1)
    sched = md.optim.StepLR(opt, 1)
    opt.add_param_group({"params": [md.Parameter(torch.zeros(1))]})
    with pytest.raises(RuntimeError, match=r"StepLR.step: the optimizer has 2 parameter groups, the schedule was "
                                           r"made for 1$"):
        sched.step()
    assert sched.last_epoch == 0 and opt.lr == 0.1


def test_a_cosine_down_to_zero_leaves_an_optimizer_that_saves_and_loads():
    opt = md.Adam([md.Parameter(torch.zeros(2))], lr=0.1)
    sched = md.optim.CosineAnnealingLR(opt, 4)
    for _ in range(4):
        sched.step()
    assert opt.lr == 0.0
    opt.load_state_dict(opt.state_dict())
    assert repr(sched) == "CosineAnnealingLR(T_max=4, eta_min=0.0, last_epoch=4)"


# -- L1: the subgradient λ₁ sign(θ), written by hand (optim.add_l1) ---------------------------------------
L1_SHAPES = [(3, 4), (5,)]


def _start_with_zeros(seed=0):
    """Parameters with some entries exactly 0, where |θ| has its corner."""
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=F64) for s in L1_SHAPES]
    start[0][0, :2] = 0.0
    start[1][::2] = 0.0
    return start


def test_the_l1_and_l2_gradient_is_autograds_gradient_of_the_penalised_loss_even_at_zero():
    """∇(loss + λ₁Σ|θ| + (λ₂/2)Σθ²) by autograd = the hand-written ∇loss (a minidl Linear's backward),
    then add_l1 and + λ₂θ, as SGD.step does; including the entries of θ that are exactly 0."""
    from minidl.framework.optim import add_l1
    l1, l2 = 0.03, 0.2
    gen = torch.Generator().manual_seed(1)
    layer, loss = md.Linear(4, 3, dtype=F64), md.MSELoss()
    layer.weight.data.copy_(_start_with_zeros()[0])
    layer.bias.data.zero_()
    layer.bias.data[1] = 0.5
    x, t = torch.randn(8, 4, generator=gen, dtype=F64), torch.randn(8, 3, generator=gen, dtype=F64)
    loss(layer(x), t)
    layer.zero_grad()
    layer.backward(loss.backward())
    W, b = (p.data.clone().requires_grad_(True) for p in (layer.weight, layer.bias))
    penalised = ((x @ W.T + b - t) ** 2).mean() + l1 * (W.abs().sum() + b.abs().sum()) \
        + l2 / 2 * ((W ** 2).sum() + (b ** 2).sum())
    auto = torch.autograd.grad(penalised, [W, b])
    for p, a in zip((layer.weight, layer.bias), auto, strict=True):
        hand = add_l1(p.grad, p.data, l1).add(p.data, alpha=l2)
        assert torch.allclose(hand, a, rtol=0, atol=1e-15)
        zero = p.data == 0
        assert zero.any() and torch.equal(hand[zero], p.grad[zero])    # sign(0) = 0: only ∇loss at the corner
    assert add_l1(layer.weight.grad, layer.weight.data, 0.0) is layer.weight.grad     # λ₁ = 0: nothing added


def test_the_l1_gradient_matches_finite_differences_away_from_zero():
    """(f(θ + h eᵢ) − f(θ − h eᵢ)) / 2h for f = λ₁Σ|θ| + (λ₂/2)Σθ², at every entry, θ away from 0."""
    from minidl.framework.optim import add_l1
    l1, l2, h = 0.7, 0.3, 1e-6
    theta = torch.randn(12, generator=torch.Generator().manual_seed(2), dtype=F64)
    theta = theta + 0.1 * theta.sign()                         # |θ| ≥ 0.1 ≫ h: no corner crossed
    f = lambda th: l1 * th.abs().sum() + l2 / 2 * (th * th).sum()     # noqa: E731
    hand = add_l1(torch.zeros_like(theta), theta, l1).add(theta, alpha=l2)
    for i in range(len(theta)):
        e = torch.zeros_like(theta)
        e[i] = h
        assert abs(float((f(theta + e) - f(theta - e)) / (2 * h)) - float(hand[i])) < 1e-8
    flipped = add_l1(torch.zeros_like(theta), -theta, l1).add(theta, alpha=l2)   # negative control: wrong sign
    assert not torch.allclose(flipped, hand, atol=1e-3)


def _penalised_runs(make_ours, make_theirs, l1, steps=40):
    """minidl with l1 on ∇loss, against torch.optim on autograd's ∇(loss + λ₁Σ|θ|), loss = ½ Σ c (θ − τ)².
    τ = 0 where θ starts at 0, so those entries see the subgradient at the corner."""
    gen = torch.Generator().manual_seed(3)
    start = _start_with_zeros()
    scale = [torch.rand(s.shape, generator=gen, dtype=F64) + 0.5 for s in start]
    target = [torch.randn(s.shape, generator=gen, dtype=F64) * (s != 0) for s in start]
    ours = [md.Parameter(s.clone()) for s in start]
    theirs = [s.clone().requires_grad_(True) for s in start]
    opt, topt = make_ours(ours), make_theirs(theirs)
    worst = 0.0
    for _ in range(steps):
        for p, c, tau in zip(ours, scale, target, strict=True):
            p.grad.copy_(c * (p.data - tau))                     # ∇ ½ Σ c (θ − τ)², by hand
        penalised = sum(0.5 * (c * (t - tau) ** 2).sum() + l1 * t.abs().sum()
                        for t, c, tau in zip(theirs, scale, target, strict=True))
        topt.zero_grad()
        penalised.backward()
        opt.step()
        topt.step()
        worst = max(worst, max(float((p.data - t.detach()).abs().max()) for p, t in zip(ours, theirs, strict=True)))
    return worst, ours


L1_TWINS = {
    "sgd": (lambda p: md.SGD(p, lr=0.05, l1=0.02), lambda p: torch.optim.SGD(p, lr=0.05, foreach=False)),
    "sgd nesterov decay": (lambda p: md.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, l1=0.02),
                           lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01,
                                                     foreach=False)),
    "rmsprop": (lambda p: md.RMSprop(p, lr=1e-2, momentum=0.5, weight_decay=0.01, l1=0.02),
                lambda p: torch.optim.RMSprop(p, lr=1e-2, momentum=0.5, weight_decay=0.01, foreach=False)),
    "adam": (lambda p: md.Adam(p, lr=1e-2, weight_decay=0.01, l1=0.02),
             lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.01, foreach=False)),
    "adamw": (lambda p: md.AdamW(p, lr=1e-2, weight_decay=0.1, l1=0.02),
              lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1, foreach=False)),
}


@pytest.mark.parametrize("name", list(L1_TWINS))
def test_an_l1_step_is_torch_optims_step_on_the_autograd_gradient_of_the_penalised_loss(name):
    make, make_t = L1_TWINS[name]
    worst, ours = _penalised_runs(make, make_t, l1=0.02)
    assert worst < 1e-12
    assert all(float(p.data[0, 0]) == 0.0 for p in ours[:1])           # θ = 0, ∇loss = 0: sign(0) = 0 keeps it
    wrong, _ = _penalised_runs(make, make_t, l1=0.03)                  # negative control: another λ₁ for torch
    assert wrong > 1e-4


def test_plain_l1_makes_small_weights_hover_around_zero_not_land_on_it():
    """The docstring's claim: with only λ₁ Σ|θ| pulling, each step moves θ by lr·λ₁ and it jumps over 0."""
    p = md.Parameter(torch.tensor([0.013, -0.021, 0.5], dtype=F64))
    opt = md.SGD([p], lr=0.1, l1=0.1)                                  # steps of lr·λ₁ = 0.01
    seen = []
    for _ in range(100):
        p.grad.zero_()
        opt.step()
        seen.append(p.data.clone())
    late = torch.stack(seen[60:])
    assert (late[:, :2].abs() <= 0.01 + 1e-12).all() and (late[:, :2] != 0).all()    # near 0, never 0
    assert (late[1:, :2].sign() != late[:-1, :2].sign()).all()                      # the sign flips every step


@pytest.mark.parametrize("make", [
    lambda l1: md.SGD(P, lr=0.1, l1=l1), lambda l1: md.RMSprop(P, l1=l1), lambda l1: md.Adam(P, l1=l1),
    lambda l1: md.AdamW(P, l1=l1)])
@pytest.mark.parametrize("bad", [-0.1, math.inf, math.nan, "0.1", True, None])
def test_a_bad_l1_is_refused_like_weight_decay(make, bad):
    name = type(make(0.0)).__name__
    with pytest.raises(ValueError, match=f"^{name}: l1 must be >= 0, got {re.escape(repr(bad))}$"):
        make(bad)
    assert make(0.5).param_groups[0]["l1"] == 0.5 and make(1).param_groups[0]["l1"] == 1.0


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw", "rmsprop"])
def test_a_state_dict_saved_before_l1_existed_loads_with_l1_off(kind):
    source, opt = _trained(kind), _trained(kind)
    opt.param_groups[0]["l1"] = 0.5
    old = source.state_dict()
    for group in old["param_groups"]:
        del group["l1"]
    opt.load_state_dict(old)
    assert [g["l1"] for g in opt.param_groups] == [0.0, 0.0]
    assert "l1" in source.state_dict()["param_groups"][0]
