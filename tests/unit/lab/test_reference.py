"""minidl and its torch.nn twin: same initial weights, same outputs, same gradients."""

import pytest
import torch

import minidl as md
from minidl.lab.reference import fit_twin, from_torch, to_torch, torch_criterion, torch_optimizer


def course_net(act=md.ReLU):
    return md.Sequential(md.Linear(2, 25), act(), md.Linear(25, 25), act(), md.Linear(25, 25), act(),
                         md.Linear(25, 2))


@pytest.mark.parametrize("shape", [(2, 25), (25, 25), (3, 1), (100, 7)])
def test_seeded_linear_init_equals_torch_nn_linear(shape):
    torch.manual_seed(42)
    ours = md.Linear(*shape)
    torch.manual_seed(42)
    theirs = torch.nn.Linear(*shape)
    assert torch.equal(ours.weight.data, theirs.weight.detach())
    assert torch.equal(ours.bias.data, theirs.bias.detach())


def test_seeded_course_network_equals_its_torch_twin_built_independently():
    torch.manual_seed(3)
    ours = course_net()
    torch.manual_seed(3)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 25), torch.nn.ReLU(), torch.nn.Linear(25, 25),
                                 torch.nn.ReLU(), torch.nn.Linear(25, 25), torch.nn.ReLU(),
                                 torch.nn.Linear(25, 2))
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert name == tname and torch.equal(p.data, tp.detach())


@pytest.mark.parametrize("act", [md.ReLU, md.Tanh, md.Sigmoid, md.LeakyReLU])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_to_torch_gives_equal_outputs_and_gradients(act, dtype):
    torch.manual_seed(0)
    model = course_net(act).to(dtype)
    twin = to_torch(model)
    x = torch.rand(64, 2, dtype=dtype)
    y = torch.randint(0, 2, (64,))
    criterion = md.CrossEntropyLoss()
    loss = criterion(model(x), y)
    model.zero_grad()
    model.backward(criterion.backward())
    with torch.enable_grad():
        tloss = torch_criterion(criterion)(twin(x), y)
        tloss.backward()
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss, tloss.detach(), **tol)
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p.grad, tp.grad, **tol)


def test_to_torch_copies_rather_than_shares_weights_and_keeps_mode():
    model = md.Sequential(md.Linear(2, 3), md.Dropout(0.3), md.LogSoftmax()).eval()
    twin = to_torch(model)
    assert not twin.training and isinstance(twin[1], torch.nn.Dropout) and twin[1].p == 0.3
    twin[0].weight.data.add_(1.0)
    assert not torch.equal(twin[0].weight.detach(), model[0].weight.data)


def test_from_torch_round_trip():
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.LeakyReLU(0.2), torch.nn.Linear(4, 3, bias=False),
                                 torch.nn.Softmax(dim=1))
    ours = from_torch(theirs)
    assert repr(ours).startswith("Sequential(\n  (0): Linear(in_features=2, out_features=4, bias=True)")
    assert ours[1].negative_slope == 0.2 and ours[2].bias is None
    x = torch.randn(5, 2)
    torch.testing.assert_close(ours(x), theirs(x).detach())
    back = to_torch(ours)
    torch.testing.assert_close(back(x), theirs(x))


def test_normalisation_layers_go_to_torch_and_back_with_their_statistics():
    torch.manual_seed(0)
    bn = md.BatchNorm1d(3, eps=1e-3, momentum=0.2)
    bn.weight.data.normal_()
    bn(torch.randn(8, 3) * 2 + 1)
    model = md.Sequential(md.Linear(2, 3), bn, md.LayerNorm(3, eps=1e-4)).eval()
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model) and not back[1].training
    for (k, a), (k2, b) in zip(model.state_dict().items(), back.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k
    with pytest.raises(TypeError, match="from_torch: minidl's BatchNorm1d has an affine weight and bias"):
        from_torch(torch.nn.BatchNorm1d(3, affine=False))
    with pytest.raises(TypeError, match="from_torch: minidl's BatchNorm1d has .* a number momentum"):
        from_torch(torch.nn.BatchNorm1d(3, momentum=None))
    with pytest.raises(TypeError, match="from_torch: minidl's LayerNorm has an elementwise weight and bias"):
        from_torch(torch.nn.LayerNorm(3, bias=False))


def test_torch_optimizer_mirrors_hyperparameters():
    model = course_net()
    twin = to_torch(model)
    sgd = torch_optimizer(md.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True), twin)
    assert isinstance(sgd, torch.optim.SGD)
    g = sgd.param_groups[0]
    assert (g["lr"], g["momentum"], g["nesterov"]) == (0.05, 0.9, True)
    adam = torch_optimizer(md.Adam(model.parameters(), lr=3e-3, betas=(0.8, 0.9)), twin)
    assert adam.param_groups[0]["betas"] == (0.8, 0.9) and adam.param_groups[0]["lr"] == 3e-3
    with pytest.raises(ValueError, match=r"^torch_optimizer: torch.optim has no l1, got l1=\[0.01\]$"):
        torch_optimizer(md.AdamW(model.parameters(), l1=0.01), twin)


def test_reference_errors():
    class Custom(md.Module):
        def forward(self, x):
            return x
    with pytest.raises(TypeError, match="to_torch: no torch.nn equivalent for Custom"):
        to_torch(md.Sequential(Custom()))
    with pytest.raises(TypeError, match="from_torch: no minidl equivalent for GELU"):
        from_torch(torch.nn.GELU())
    with pytest.raises(ValueError, match="torch_optimizer: the optimizer has 8 parameters, the torch model 2"):
        torch_optimizer(md.SGD(course_net().parameters(), lr=0.1), torch.nn.Linear(2, 2))
    class MyAdam(md.Adam):                  # a subclass is not Adam's twin (AdamW was once taken for Adam)
        pass
    net = course_net()
    with pytest.raises(TypeError, match="^torch_optimizer: no torch.optim equivalent for MyAdam$"):
        torch_optimizer(MyAdam(net.parameters()), to_torch(net))
    assert type(torch_optimizer(md.AdamW(net.parameters()), to_torch(net))) is torch.optim.AdamW



def test_torch_step_switches_modes_only_where_a_layer_depends_on_it():
    """Course layers compute the same in both modes: no switching. Dropout does: measured in eval mode,
    every module's own mode restored after."""
    from minidl.lab.reference import TorchStep
    x, labels = torch.randn(50, 2, dtype=torch.float64), torch.randint(0, 2, (50,))
    twin = to_torch(course_net().to(torch.float64))
    step = TorchStep(twin, torch.nn.CrossEntropyLoss(), torch.optim.SGD(twin.parameters(), lr=0.1))
    with torch.no_grad():
        out = twin(x)
    assert not step.modal and twin.training
    assert step.measure(x, labels, labels) == (float(torch.nn.functional.cross_entropy(out, labels)),
                                               float((out.argmax(1) != labels).sum()) / 50)
    assert step.error(x, labels) == step.measure(x, labels, labels)[1] and twin.training
    step.train()
    assert twin.training
    twin.eval()
    step.train()                                       # a twin left in eval mode is put back in train mode
    assert twin.training and all(m.training for m in twin.modules())

    drop = to_torch(md.Sequential(md.Linear(2, 25), md.Dropout(0.5), md.Linear(25, 2)).to(torch.float64))
    drop[0].eval()                                     # left in eval mode on purpose: stays so
    step = TorchStep(drop, torch.nn.CrossEntropyLoss(), torch.optim.SGD(drop.parameters(), lr=0.1))
    with torch.no_grad():
        plain = drop[2](drop[0](x))                    # eval mode: dropout is the identity
    assert step.modal
    assert step.measure(x, labels, labels)[0] == float(torch.nn.functional.cross_entropy(plain, labels))
    assert step.error(x, labels) == float((plain.argmax(1) != labels).sum()) / 50
    assert [m.training for m in drop.modules()] == [True, False, True, True]

# -- fit_twin: minidl.train.fit() written with autograd ------------------------------------------------
def course_run(loss="mse", opt="sgd", seed=0, dtype=torch.float64, act=md.ReLU, lr=None, n=300):
    """A course model, its criterion and optimizer, the twin of all three, and disk data."""
    g = torch.Generator().manual_seed(seed)
    (x, y), (tx, ty) = md.data.disk(n, generator=g, dtype=dtype), md.data.disk(n, generator=g, dtype=dtype)
    x, tx, _, _ = md.data.standardize(x, tx)
    torch.manual_seed(seed)
    model = course_net(act).to(dtype)
    criterion = md.MSELoss() if loss == "mse" else md.CrossEntropyLoss()
    optimizer = md.SGD(model.parameters(), lr=lr or 0.1, momentum=0.9) if opt == "sgd" \
        else md.Adam(model.parameters(), lr=lr or 0.01)
    twin = to_torch(model)
    return model, criterion, optimizer, (twin, torch_criterion(criterion), torch_optimizer(optimizer, twin)), \
        (x, y), (tx, ty)


@pytest.mark.parametrize("loss, opt", [("mse", "sgd"), ("ce", "sgd"), ("mse", "adam"), ("ce", "adam")])
def test_fit_twin_history_equals_fit_history(loss, opt):
    """Integer labels for both losses: fit_twin converts them for MSE exactly as fit() does."""
    model, criterion, optimizer, (twin, tc, to), train, test = course_run(loss, opt, seed=2)
    h = md.fit(model, criterion, optimizer, train, test, epochs=8, batch_size=64, generator=5)
    t = fit_twin(twin, tc, to, train, test, epochs=8, batch_size=64, generator=5)
    assert t.epoch == h.epoch == list(range(1, 9)) and t.diverged is None
    assert t.train_error == h.train_error and t.test_error == h.test_error
    torch.testing.assert_close(torch.tensor(t.train_loss + t.test_loss), torch.tensor(h.train_loss + h.test_loss),
                               rtol=1e-12, atol=1e-12)
    assert t.lr == h.lr and len(t.time) == 8 and t.time == sorted(t.time)
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p.data, tp.detach(), rtol=1e-12, atol=1e-12)
    assert t.config["n_train"] == 300 and t.config["batch_size"] == 64


@pytest.mark.parametrize("loss, opt", [("mse", "sgd"), ("ce", "adam")])
def test_foreach_twin_optimizer_takes_bitwise_the_same_steps(loss, opt):
    """foreach=True (the experiments' twin) and torch's CPU default (the benchmarks'): the same run to the
    last bit, parameters and optimizer state too."""
    _, _, _, (twin, tc, loop), train, test = course_run(loss, opt, seed=5)
    _, _, optimizer, (twin2, tc2, _), _, _ = course_run(loss, opt, seed=5)
    multi = torch_optimizer(optimizer, twin2, foreach=True)
    assert loop.defaults["foreach"] is False and multi.defaults["foreach"] is True
    a = fit_twin(twin, tc, loop, train, test, epochs=4, batch_size=16, generator=3)
    b = fit_twin(twin2, tc2, multi, train, test, epochs=4, batch_size=16, generator=3)
    assert (a.train_loss, a.test_loss, a.train_error, a.test_error) == \
        (b.train_loss, b.test_loss, b.train_error, b.test_error)
    for p, q in zip(twin.parameters(), twin2.parameters(), strict=True):
        assert torch.equal(p, q)
        assert all(torch.equal(u, v) for u, v in zip(loop.state[p].values(), multi.state[q].values(), strict=True))
    with pytest.raises(TypeError, match="^torch_optimizer: foreach must be True or False, got 'yes'$"):
        torch_optimizer(optimizer, twin2, foreach="yes")


@pytest.mark.parametrize("loss, opt", [("mse", "sgd"), ("ce", "adam")])
def test_fused_twin_optimizer_agrees_with_the_default_in_float64(loss, opt):
    """fused=True (the experiments' twin): one kernel, its own rounding; runs agree with torch's CPU default
    to 1e-12 with the same error counts. Refusals: both switches at once, RMSprop (torch has no fused one)."""
    _, _, _, (twin, tc, loop), train, test = course_run(loss, opt, seed=5)
    _, _, optimizer, (twin2, tc2, _), _, _ = course_run(loss, opt, seed=5)
    fused = torch_optimizer(optimizer, twin2, fused=True)
    assert fused.defaults["fused"] is True
    a = fit_twin(twin, tc, loop, train, test, epochs=4, batch_size=16, generator=3)
    b = fit_twin(twin2, tc2, fused, train, test, epochs=4, batch_size=16, generator=3)
    assert (a.train_error, a.test_error) == (b.train_error, b.test_error)
    for u, v in zip(a.train_loss + a.test_loss, b.train_loss + b.test_loss, strict=True):
        assert abs(u - v) <= 1e-12 * abs(u)
    for p, q in zip(twin.parameters(), twin2.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)
    assert a.train_loss[-1] < a.train_loss[0]
    with pytest.raises(TypeError, match="^torch_optimizer: fused must be True or False, got 1$"):
        torch_optimizer(optimizer, twin2, fused=1)
    with pytest.raises(ValueError, match="^torch_optimizer: foreach and fused exclude each other, got both True$"):
        torch_optimizer(optimizer, twin2, foreach=True, fused=True)
    with pytest.raises(ValueError, match="^torch_optimizer: torch.optim.RMSprop has no fused update"):
        torch_optimizer(md.RMSprop(md.build_mlp().parameters(), lr=0.01), to_torch(md.build_mlp()), fused=True)


def test_fit_twin_equals_the_tests_twin_loop_and_one_hot_targets_give_the_same_run():
    from twin import epoch_orders, run_twin
    _, _, _, (twin, tc, to), (x, y), (tx, ty) = course_run("mse", seed=4)
    _, _, _, (twin2, tc2, to2), _, _ = course_run("mse", seed=4)
    t = fit_twin(twin, tc, to, (x, y), (tx, ty), epochs=5, generator=9)            # labels, converted
    oh = md.data.one_hot
    ref = run_twin(twin2, tc2, to2, (x, oh(y, 2, dtype=x.dtype)), (tx, oh(ty, 2, dtype=x.dtype)),
                   epoch_orders(len(x), 100, 5, 9))
    assert [round(e * 300) for e in t.train_error] == ref["train_errors"]
    assert [round(e * 300) for e in t.test_error] == ref["test_errors"]
    assert t.train_loss == ref["train_loss"] and t.test_loss == ref["test_loss"]


def test_fit_twin_in_float32_stays_within_rounding_of_fit():
    model, criterion, optimizer, (twin, tc, to), train, test = course_run("ce", seed=1, dtype=torch.float32)
    h = md.fit(model, criterion, optimizer, train, test, epochs=5, generator=1)
    t = fit_twin(twin, tc, to, train, test, epochs=5, generator=1)
    assert max(abs(a - b) for a, b in zip(h.train_loss, t.train_loss, strict=True)) < 1e-5


def test_fit_twin_stops_at_a_divergence_like_fit_and_restores_the_epoch_start():
    model, criterion, optimizer, (twin, tc, to), train, test = course_run("mse", lr=50.0, seed=0)
    h = md.fit(model, criterion, optimizer, train, test, epochs=20, generator=0)
    t = fit_twin(twin, tc, to, train, test, epochs=20, generator=0)
    assert h.diverged and t.diverged and len(t) == len(h) < 20
    assert t.diverged == h.diverged and "diverged at epoch" in t.diverged
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):        # both restored alike
        assert torch.isfinite(tp).all()
        torch.testing.assert_close(p.data, tp.detach(), rtol=1e-12, atol=1e-12)


def test_fit_twin_without_the_check_keeps_going():
    _, _, _, (twin, tc, to), train, test = course_run("mse", lr=50.0, seed=0)
    t = fit_twin(twin, tc, to, train, test, epochs=6, generator=0, check_finite=False)
    assert len(t) == 6 and t.diverged is None and not all(map(torch.isfinite, map(torch.tensor, t.train_loss)))


def test_fit_twin_without_test_set_and_unshuffled():
    model, criterion, optimizer, (twin, tc, to), train, _ = course_run("ce", seed=3)
    h = md.fit(model, criterion, optimizer, train, epochs=3, shuffle=False)
    t = fit_twin(twin, tc, to, train, epochs=3, shuffle=False)
    assert t.test_error == [] and t.train_error == h.train_error


def test_fit_twin_errors():
    _, criterion, _, (twin, tc, to), train, _ = course_run()
    with pytest.raises(TypeError, match=r"fit_twin: torch_model must be a torch.nn.Module \(use to_torch\), got Seq"):
        fit_twin(course_net(), tc, to, train, epochs=1)
    with pytest.raises(ValueError, match="fit_twin: epochs must be a positive int, got 0"):
        fit_twin(twin, tc, to, train, epochs=0)
    with pytest.raises(TypeError, match="fit_twin train: expected an .x, y. pair"):
        fit_twin(twin, tc, to, train[0], epochs=1)
    with pytest.raises(TypeError, match="fit_twin: generator must be a torch.Generator"):
        fit_twin(twin, tc, to, train, epochs=1, generator="seed")


def test_negative_control_fit_twin_on_another_batch_order_parts_from_fit():
    model, criterion, optimizer, (twin, tc, to), train, test = course_run("mse", seed=2)
    h = md.fit(model, criterion, optimizer, train, test, epochs=2, generator=5)
    t = fit_twin(twin, tc, to, train, test, epochs=2, generator=6)
    assert max(abs(a - b) for a, b in zip(h.train_loss, t.train_loss, strict=True)) > 1e-6
