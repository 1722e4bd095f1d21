"""SGD and Adam take exactly torch.optim's steps (float64, 50 steps, to 1e-10)."""

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


@pytest.mark.parametrize("make, make_t", [
    (lambda p: md.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    (lambda p: md.Adam(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
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
                                  lambda p: md.Adam(p, lr=0.05)])
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
    for opt in [md.SGD([p], lr=0.1, momentum=0.9), md.Adam([p])]:
        p.grad.fill_(0.5)
        opt.step()
        assert p.data.dtype == torch.float32 and not p.data.requires_grad


P = [md.Parameter(torch.zeros(2))]


@pytest.mark.parametrize("make, error, message", [
    (lambda: md.SGD(P, lr=-0.1), ValueError, r"SGD: lr must be > 0, got -0.1"),
    (lambda: md.SGD(P, lr=0), ValueError, r"SGD: lr must be > 0, got 0"),
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
    (lambda: md.Adam(P, lr=float("nan")), ValueError, r"Adam: lr must be > 0, got nan"),
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


def test_setting_a_bad_lr_live_is_refused_and_keeps_the_old_one():
    opt = md.SGD(P, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: lr must be > 0, got -1"):
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
        opt = md.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
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
    (_set(("param_groups", 0, "lr"), -5), ValueError, r"param_groups\[0\]: lr must be > 0, got -5$"),
    (_set(("param_groups", 1, "lr"), float("inf")), ValueError, r"param_groups\[1\]: lr must be > 0, got inf$"),
    (_set(("param_groups", 0, "momentum"), 3), ValueError, r"param_groups\[0\]: momentum must be in \[0, 1\), got 3$"),
    (_set(("param_groups", 0, "nesterov"), "yes"), TypeError,
     r"param_groups\[0\]: nesterov must be True or False, got 'yes'$"),
    (_set(("param_groups", 1, "dampening"), 0.5), ValueError, r"param_groups\[1\]: nesterov=True needs momentum > 0"),
    (_set(("param_groups", 0, "weight_decay"), "0"), ValueError,
     r"param_groups\[0\]: weight_decay must be >= 0, got '0'$"),
    (_set(("param_groups", 1, "betas"), (0.9, 0.99)), ValueError,
     r"param_groups\[1\]: unexpected hyperparameter 'betas' \(expected \['dampening', 'lr', 'momentum', "
     r"'nesterov', 'weight_decay'\]\)$"),
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
CASES = [("sgd", *c) for c in SGD_BAD] + [("adam", *c) for c in ADAM_BAD]


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


@pytest.mark.parametrize("kind", ["sgd", "adam"])
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
