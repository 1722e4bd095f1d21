"""minidl.fast takes the readable step's steps: parameters, gradients and optimizer state agree
to 1e-12 in float64 after many steps, for every loss, optimizer and activation it supports;
the model and optimizer stay the source of truth; everything else is refused clearly."""

import pytest
import torch

import minidl as md
from minidl import fast

F64 = torch.float64
OPTIMIZERS = {            # lr: the learning rate for a mean loss (a sum over a batch of 32 takes lr / 32)
    "sgd": lambda p, lr=0.05: md.SGD(p, lr=lr),
    "momentum": lambda p, lr=0.05: md.SGD(p, lr=lr, momentum=0.9, dampening=0.1),
    "nesterov": lambda p, lr=0.05: md.SGD(p, lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p, lr=1e-2: md.Adam(p, lr=lr, betas=(0.8, 0.99), weight_decay=1e-3),
    "adamw": lambda p, lr=1e-2: md.AdamW(p, lr=lr, betas=(0.8, 0.99), weight_decay=0.1),
    "rmsprop": lambda p, lr=1e-3: md.RMSprop(p, lr=lr, alpha=0.9),
    "rmsprop-momentum": lambda p, lr=1e-3: md.RMSprop(p, lr=lr, momentum=0.8, weight_decay=1e-2),
    "sgd-l1": lambda p, lr=0.05: md.SGD(p, lr=lr, l1=1e-3),
    "nesterov-l1": lambda p, lr=0.05: md.SGD(p, lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3, l1=1e-3),
    "adam-l1": lambda p, lr=1e-2: md.Adam(p, lr=lr, betas=(0.8, 0.99), weight_decay=1e-3, l1=1e-3),
    "adamw-l1": lambda p, lr=1e-2: md.AdamW(p, lr=lr, betas=(0.8, 0.99), weight_decay=0.1, l1=1e-3),
    "rmsprop-l1": lambda p, lr=1e-3: md.RMSprop(p, lr=lr, momentum=0.8, weight_decay=1e-2, l1=1e-3),
}
CRITERIA = {"mse": md.MSELoss, "ce": md.CrossEntropyLoss, "mse-sum": lambda: md.MSELoss(reduction="sum")}


def make(activation="relu", criterion="mse", optimizer="momentum", sizes=(2, 25, 25, 25, 2), dtype=F64):
    torch.manual_seed(0)
    model = md.build_mlp(sizes, activation=activation, dtype=dtype)
    kw = {"lr": 1e-3} if criterion == "mse-sum" else {}
    return model, CRITERIA[criterion](), OPTIMIZERS[optimizer](model.parameters(), **kw)


def data(criterion="mse", n=250, dtype=F64, features=2, classes=2):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, features, generator=g, dtype=dtype)
    y = (x.norm(dim=1) < 1.2).long() if classes == 2 else torch.randint(0, classes, (n,), generator=g)
    return x, (md.data.one_hot(y, classes, dtype=dtype) if criterion.startswith("mse") else y)


def readable_step(model, criterion, optimizer, xb, tb):
    loss = criterion(model(xb), tb)
    model.zero_grad()
    model.backward(criterion.backward())
    optimizer.step()
    return loss


def batches(x, t, epochs=3, batch_size=32):
    """A shuffled order with a ragged last batch (250 = 7·32 + 26), so two batch sizes are used."""
    g = torch.Generator().manual_seed(2)
    return [(x[i], t[i]) for _ in range(epochs) for i in md.data.batch_order(len(x), batch_size, True, g)]


def step_both(ref, plan, steps):
    """The same batches through the readable step and the fast one."""
    for xb, tb in steps:
        readable_step(*ref, xb, tb)
        plan.step(xb, tb)


def largest_difference(a, b, opt_a=None, opt_b=None):
    """The largest |difference| between two models' parameters, gradients and optimizer states."""
    pairs = [(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(), strict=True)]
    pairs += [(p.grad, q.grad) for p, q in zip(a.parameters(), b.parameters(), strict=True)]
    if opt_a is not None:
        sa, sb = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
        assert sa.keys() == sb.keys()
        for i in sa:
            assert sa[i].keys() == sb[i].keys()
            pairs += [(torch.as_tensor(sa[i][k], dtype=F64), torch.as_tensor(sb[i][k], dtype=F64)) for k in sa[i]]
    return max(float((u - v).abs().max()) for u, v in pairs)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("criterion", list(CRITERIA))
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_fast_step_equals_the_readable_step(activation, criterion, optimizer):
    ref_model, ref_crit, ref_opt = make(activation, criterion, optimizer)
    model, crit, opt = make(activation, criterion, optimizer)
    plan = fast.compile(model, crit, opt)
    x, t = data(criterion)
    worst_loss = 0.0
    for xb, tb in batches(x, t):
        ref_loss = readable_step(ref_model, ref_crit, ref_opt, xb, tb)
        loss = plan.step(xb, tb)
        assert loss.shape == () and loss.dtype == F64
        worst_loss = max(worst_loss, abs(float(loss) - float(ref_loss)))
    assert worst_loss <= 1e-12
    assert largest_difference(model, ref_model, opt, ref_opt) <= 1e-12
    assert largest_difference(model, make(activation, criterion, optimizer)[0]) > 1e-3   # it did train


def test_float32_agrees_too():
    ref, model = make(dtype=torch.float32), make(dtype=torch.float32)
    plan = fast.compile(*model)
    x, t = data(dtype=torch.float32)
    step_both(ref, plan, batches(x, t))
    assert largest_difference(model[0], ref[0]) <= 1e-6


def test_no_bias_deeper_net_and_nested_sequential():
    def build():
        torch.manual_seed(0)
        return md.Sequential(md.Linear(3, 8, bias=False, dtype=F64), md.Tanh(),
                             md.Sequential(md.Linear(8, 8, dtype=F64), md.LeakyReLU(0.2)),
                             md.Linear(8, 4, dtype=F64), md.Sigmoid())
    ref, model = build(), build()
    ref_opt, opt = md.Adam(ref.parameters(), lr=0.01), md.Adam(model.parameters(), lr=0.01)
    plan = fast.compile(model, md.CrossEntropyLoss(), opt)
    x, t = data("ce", features=3, classes=4)
    for xb, tb in batches(x, t):
        readable_step(ref, md.CrossEntropyLoss(), ref_opt, xb, tb)
        plan.step(xb, tb)
    assert largest_difference(model, ref, opt, ref_opt) <= 1e-12


# -- the model and the optimizer stay the source of truth -------------------------------------------------
def test_compiling_keeps_the_same_tensor_objects_and_values():
    model, crit, opt = make()
    before = [(p.data, p.grad, p.data.clone()) for p in model.parameters()]
    plan = fast.compile(model, crit, opt)
    for (value_tensor, grad, values), p in zip(before, model.parameters(), strict=True):
        assert p.data is value_tensor and p.grad is grad and torch.equal(p.data, values)
    x, t = data()
    plan.step(x[:10], t[:10])
    assert all(not torch.equal(p.data, values) for (_, _, values), p in zip(before, model.parameters(), strict=True))
    assert all(p.data.data_ptr() == d.data_ptr() for (d, _, _), p in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adamw", "rmsprop-momentum"])
def test_fast_and_readable_steps_can_take_turns(optimizer):
    """Readable steps, then fast, then readable again: the same as readable steps all along."""
    ref, (model, crit, opt) = make(optimizer=optimizer), make(optimizer=optimizer)
    x, t = data()
    steps = batches(x, t)
    plan = None
    for i, (xb, tb) in enumerate(steps):
        readable_step(*ref, xb, tb)
        if 5 <= i < 15 or i >= 20:
            plan = plan or fast.compile(model, crit, opt)      # compiled after 5 readable steps
            plan.step(xb, tb)
        else:
            readable_step(model, crit, opt, xb, tb)
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12


def test_hyperparameters_are_read_at_every_step():
    ref, (model, crit, opt) = make(), make()
    plan = fast.compile(model, crit, opt)
    x, t = data()
    for i, (xb, tb) in enumerate(batches(x, t)):
        if i == 10:
            ref[2].lr = opt.lr = 0.01
            ref[2].param_groups[0]["momentum"] = opt.param_groups[0]["momentum"] = 0.5
        readable_step(*ref, xb, tb)
        plan.step(xb, tb)
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw", "rmsprop"])
def test_l1_switched_on_and_off_live_is_followed(optimizer):
    """l1 is read at every step like lr; switched on mid-run, the fast step finds its scratch buffer."""
    ref, (model, crit, opt) = make(optimizer=optimizer), make(optimizer=optimizer)
    plan = fast.compile(model, crit, opt)
    x, t = data()
    for i, (xb, tb) in enumerate(batches(x, t)):
        if i in (5, 15):
            ref[2].param_groups[0]["l1"] = opt.param_groups[0]["l1"] = 0.01 if i == 5 else 0.0
        readable_step(*ref, xb, tb)
        plan.step(xb, tb)
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12
    without = make(optimizer=optimizer)                           # the control: l1 did change the weights
    for xb, tb in batches(x, t):
        readable_step(*without, xb, tb)
    assert largest_difference(without[0], ref[0]) > 1e-6


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop-momentum"])
def test_a_restored_snapshot_is_adopted(optimizer):
    """fit() restores model.state_dict() and optimizer.state_dict() after a divergence."""
    ref, (model, crit, opt) = make(optimizer=optimizer), make(optimizer=optimizer)
    plan = fast.compile(model, crit, opt)
    x, t = data()
    steps = batches(x, t)
    step_both(ref, plan, steps[:5])
    snapshot = [(m[0].state_dict(), m[2].state_dict()) for m in (ref, (model, crit, opt))]
    step_both(ref, plan, steps[5:10])
    for (m_state, o_state), m in zip(snapshot, (ref, (model, crit, opt)), strict=True):
        m[0].load_state_dict(m_state)
        m[2].load_state_dict(o_state)
    step_both(ref, plan, steps[10:15])
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12


@pytest.mark.parametrize("change", [
    dict(momentum=0.5), dict(momentum=0.0), dict(alpha=0.5, eps=1e-3), dict(weight_decay=0.1, lr=1e-2)])
def test_rmsprop_hyperparameters_changed_live_are_followed_momentum_switched_on_or_off(change):
    """RMSprop keeps a momentum buffer only while μ > 0 (as torch): switching μ on mid-run starts one at 0."""
    momentum = 0.0 if change.get("momentum") else 0.7
    make_opt = lambda p: md.RMSprop(p, lr=1e-3, momentum=momentum)     # noqa: E731
    ref, (model, crit, opt) = make(optimizer="sgd"), make(optimizer="sgd")
    ref_opt, opt = make_opt(ref[0].parameters()), make_opt(model.parameters())
    plan = fast.compile(model, crit, opt)
    x, t = data()
    for i, (xb, tb) in enumerate(batches(x, t)):
        if i == 10:
            ref_opt.param_groups[0].update(change)
            opt.param_groups[0].update(change)
        readable_step(ref[0], ref[1], ref_opt, xb, tb)
        plan.step(xb, tb)
    assert ("momentum_buffer" in opt.state[model.parameters()[0]]) == (max(momentum, change.get("momentum", 0)) > 0)
    assert largest_difference(model, ref[0], opt, ref_opt) <= 1e-12


def test_parameters_moved_by_model_to_are_adopted():
    ref, (model, crit, opt) = make(optimizer="sgd"), make(optimizer="sgd")
    plan = fast.compile(model, crit, opt)
    x, t = data()
    for i, (xb, tb) in enumerate(batches(x, t, epochs=1)):
        if i == 3:
            ref[0].float()
            model.float()
        dtype = torch.float32 if i >= 3 else F64
        readable_step(*ref, xb.to(dtype), tb.to(dtype))
        assert plan.step(xb.to(dtype), tb.to(dtype)).dtype == dtype
    assert all(p.data.dtype == torch.float32 for p in model.parameters())
    assert largest_difference(model, ref[0]) <= 1e-6


def test_two_plans_on_one_model_stay_consistent():
    ref, (model, crit, opt) = make(), make()
    first, second = fast.compile(model, crit, opt), fast.compile(model, crit, opt)
    x, t = data()
    for i, (xb, tb) in enumerate(batches(x, t, epochs=1)):
        readable_step(*ref, xb, tb)
        (first if i % 2 else second).step(xb, tb)
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12


def test_works_with_autograd_switched_off(no_grad):
    model, crit, opt = make()
    x, t = data()
    loss = fast.compile(model, crit, opt).step(x, t)
    assert torch.isfinite(loss) and not loss.requires_grad


# -- what it refuses -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, message", [
    (lambda: md.build_mlp(dropout=0.2), "module 2 (Dropout) is not supported"),
    (lambda: md.build_mlp(final_activation="softmax"), "(Softmax) is not supported"),
    (lambda: md.Sequential(md.ReLU(), md.Linear(2, 2)), "module 0 (ReLU) is not supported"),
    (lambda: md.Sequential(md.Linear(2, 2), md.ReLU(), md.Tanh()), "module 2 (Tanh) is not supported"),
    (lambda: md.Sequential(), "the model has no Linear layer"),
])
def test_unsupported_models_are_refused_by_name(model, message):
    m = model()
    opt = md.SGD(m.parameters(), lr=0.1) if m.parameters() else md.SGD([md.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fast.compile(m, md.MSELoss(), opt)
    assert message in fast.supports(m, md.MSELoss(), opt)


def test_supports_says_none_for_the_course_setup():
    assert fast.supports(*make()) is None


def test_unsupported_criteria_optimizers_and_groups():
    model = md.build_mlp()
    opt = md.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="criterion NLLLoss is not supported"):
        fast.compile(model, md.NLLLoss(), opt)
    with pytest.raises(TypeError, match="optimizer Optimizer is not supported"):
        fast.compile(model, md.MSELoss(), md.Optimizer(model.parameters(), {"lr": 0.1}))

    class MyAdam(md.Adam):                             # a subclass may change the step: not compiled as Adam
        decoupled = True
    with pytest.raises(TypeError, match=r"optimizer MyAdam is not supported \(SGD, RMSprop, Adam or AdamW\)"):
        fast.compile(model, md.MSELoss(), MyAdam(model.parameters()))
    params = model.parameters()
    with pytest.raises(ValueError, match="one parameter group, got 2"):
        fast.compile(model, md.MSELoss(), md.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1))
    with pytest.raises(ValueError, match="exactly the model's parameters"):
        fast.compile(model, md.MSELoss(), md.SGD(params[:4], lr=0.1))
    model[0].to(F64)
    with pytest.raises(TypeError, match="the same dtype"):
        fast.compile(model, md.MSELoss(), opt)


def test_bad_batches_are_refused_clearly():
    model, _, opt = make(optimizer="sgd")
    mse = fast.compile(model, md.MSELoss(), opt)
    x, t = data()
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 2\) and dtype torch.float64"):
        mse.step(x.float(), t)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 2\)"):
        mse.step(x[:, :1], t)
    with pytest.raises(ValueError, match="MSELoss target: expected shape"):
        mse.step(x, t[:, :1])
    ce = fast.compile(model, md.CrossEntropyLoss(), opt)
    with pytest.raises(ValueError, match="class indices, shape"):
        ce.step(x, t)                                          # one-hot rows: no probability targets here
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 2\)"):
        ce.step(x[:3], torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="^FastStep.measure: MSELoss target: expected shape"):
        mse.measure(x, t[:, :1], t.argmax(dim=1))
    with pytest.raises(ValueError, match="^FastStep.measure: CrossEntropyLoss target: expected class indices"):
        ce.measure(x, t, t.argmax(dim=1))


def test_optimizer_state_for_only_some_parameters_is_refused():
    model, crit, opt = make()
    p = model.parameters()[0]
    opt.state[p] = {"momentum_buffer": torch.zeros_like(p.data)}
    with pytest.raises(RuntimeError, match="state for some parameters but not all"):
        fast.compile(model, crit, opt)


def test_negative_control_a_fast_step_that_skips_relu_is_caught(monkeypatch):
    monkeypatch.setattr(fast, "ReLU", None)          # forward and backward no longer recognise ReLU
    ref, (model, crit, opt) = make(), make()
    plan = fast.compile(model, crit, opt)
    x, t = data()
    step_both(ref, plan, batches(x, t, epochs=1))
    assert largest_difference(model, ref[0], opt, ref[2]) > 1e-6


def test_a_layer_used_twice_is_refused():
    layer, twin = md.Linear(2, 2), md.Linear(2, 2)
    twin.weight, twin.bias = layer.weight, layer.bias             # shared weights: one Parameter, two modules
    model = md.Sequential(layer, md.ReLU(), twin)
    with pytest.raises(ValueError, match="a layer appears twice"):
        fast.compile(model, md.MSELoss(), md.SGD(model.parameters(), lr=0.1))


# -- rounding: bit for bit where it costs nothing, 1e-12 where fewer or cheaper ops pay ------------------------
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_wide_layers_agree_too(optimizer):
    """Layers of 2^16 elements and more (where memory passes, not calls, cost): 1e-12 in float64 as well."""
    ref, (model, crit, opt) = (make("relu", "ce", optimizer, sizes=(8, 600, 600, 3)) for _ in range(2))
    plan = fast.compile(model, crit, opt)
    x, t = data("ce", n=256, features=8, classes=3)
    step_both(ref, plan, batches(x, t, epochs=2, batch_size=128))
    assert 128 * 600 >= 1 << 16
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12
    assert largest_difference(model, make("relu", "ce", optimizer, sizes=(8, 600, 600, 3))[0]) > 1e-4   # it trained


def test_the_course_network_rounds_its_own_way_within_1e12():
    """Bias after the product, Σ g as gᵀ 1, momentum in one fused op; parameters within 1e-12 of the readable
    step's after three epochs."""
    ref, (model, crit, opt) = (make("relu", "mse", "sgd") for _ in range(2))
    opt.param_groups[0]["momentum"], ref[2].param_groups[0]["momentum"] = 0.9, 0.9
    plan = fast.compile(model, crit, opt)
    x, t = data()
    step_both(ref, plan, batches(x, t))
    source = plan.source(32)
    assert "add_relu_(" in source and "mv(" in source and "addmm" not in source and "sum" not in source
    assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("criterion", ["ce", "mse"])
def test_fit_runs_compiled_and_readable_agree_in_float64(criterion, activation, optimizer):
    """The compiled step rounds differently (issue 11 allows it): float64 fit runs, compiled and readable, give
    every epoch's train and test loss to 1e-12 relative, the same error counts, and parameters to 1e-12
    relative; with 10 classes (where a sum's order matters) too."""
    for classes, sizes in ((2, (2, 25, 25, 25, 2)), (10, (2, 25, 25, 10))):
        x, y = data("ce", n=600)
        if classes > 2:                                                   # ten angular sectors
            y = ((torch.atan2(x[:, 1], x[:, 0]) + torch.pi) / (2 * torch.pi) * classes).long().clamp(max=classes - 1)
        targets = y if criterion == "ce" else md.data.one_hot(y, classes, dtype=F64)
        runs = []
        for use_fast in (True, False):
            model, crit, opt = make(activation, criterion, "adam" if optimizer == "adam" else "sgd", sizes=sizes)
            if optimizer == "sgd-momentum":                               # the course's: no dampening, one fused op
                opt.param_groups[0]["momentum"] = 0.9
            h = md.fit(model, crit, opt, (x[:400], targets[:400]), (x[400:], targets[400:]), epochs=8,
                       batch_size=32, generator=3, fast=use_fast, progress=False)
            runs.append((h, model))
        (h, model), (r, ref) = runs
        assert (h.config["step"], r.config["step"]) == ("compiled", "readable")
        assert h.train_error == r.train_error and h.test_error == r.test_error
        for a, b in zip(h.train_loss + h.test_loss, r.train_loss + r.test_loss, strict=True):
            assert abs(a - b) <= 1e-12 * abs(b), (classes, a, b)
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            assert float((p.data - q.data).abs().max()) <= 1e-12 * float(q.data.abs().max())
        assert h.train_loss[-1] < 0.9 * h.train_loss[0]                   # it did train


def test_source_shows_the_step_the_floor_gemms_and_no_gradient_of_the_data():
    """source(n) is the code step() runs: the course network's step makes exactly the 11 matrix products of
    the GEMM floor (4 forward, 4 dL/dW, 3 dL/dx: none for the data)."""
    model, crit, opt = make("relu", "ce", "sgd")
    plan = fast.compile(model, crit, opt)
    source = plan.source(100)
    assert source.startswith("def train(x, t):")
    assert sum(line.strip().startswith("mm(") for line in source.splitlines()) == 11
    assert "out=g0)" in source and "out=g-1)" not in source      # dL/dx of layer 1 is written; of the data, not


def test_cross_entropy_sum_reduction_and_a_batch_of_one():
    """reduction="sum" and N = 1 take the loss's other weights (-1, not -1/N)."""
    for reduction, n in (("sum", 32), ("mean", 1), ("sum", 1)):
        ref, (model, _, opt) = make(criterion="ce"), make(criterion="ce")
        ref_crit, crit = md.CrossEntropyLoss(reduction=reduction), md.CrossEntropyLoss(reduction=reduction)
        plan = fast.compile(model, crit, opt)
        x, t = data("ce")
        for i in range(0, 64, n):
            ref_loss = readable_step(ref[0], ref_crit, ref[2], x[i:i + n], t[i:i + n])
            loss = plan.step(x[i:i + n], t[i:i + n])
            assert abs(float(loss) - float(ref_loss)) <= 1e-12 * abs(float(ref_loss)), (reduction, n)
        assert largest_difference(model, ref[0], opt, ref[2]) <= 1e-12
