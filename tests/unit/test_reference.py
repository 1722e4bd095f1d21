"""minidl and its torch.nn twin: same initial weights, same outputs, same gradients."""

import pytest
import torch

import minidl as md
from minidl.reference import from_torch, to_torch, torch_criterion, torch_optimizer


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


def test_torch_optimizer_mirrors_hyperparameters():
    model = course_net()
    twin = to_torch(model)
    sgd = torch_optimizer(md.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True), twin)
    assert isinstance(sgd, torch.optim.SGD)
    g = sgd.param_groups[0]
    assert (g["lr"], g["momentum"], g["nesterov"]) == (0.05, 0.9, True)
    adam = torch_optimizer(md.Adam(model.parameters(), lr=3e-3, betas=(0.8, 0.9)), twin)
    assert adam.param_groups[0]["betas"] == (0.8, 0.9) and adam.param_groups[0]["lr"] == 3e-3


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
