"""A learner's framework in the course protocol, as notebook 13's solutions write it: the reference the
build-track checks (tests/unit/lab/test_build_checks.py) and the playground's framework= (tests/unit/playground/
test_learner.py) are tested with. It imports nothing from minidl, so each is tested on classes it did not write:
forward(*input), backward(*gradwrtoutput) returning dL/dinput, param() -> [value, gradient] pairs accumulated
with +=, zero_grad(); SGD(pairs, lr, momentum=0.0) in torch's convention.
"""

import math

import torch


class Module:
    def forward(self, *input):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *gradwrtoutput):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def param(self):
        return []

    def zero_grad(self):
        for _, grad in self.param():
            grad.zero_()

    def __call__(self, *input):
        return self.forward(*input)


def need(value, where):
    if value is None:
        raise RuntimeError(f"{where}.backward() called before forward()")
    return value


def same_shape(grad, like, where):
    if grad.shape != like.shape:
        raise ValueError(f"{where}.backward: grad shape {tuple(grad.shape)}, expected {tuple(like.shape)}")


class Linear(Module):
    def __init__(self, in_features, out_features):
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = torch.empty(out_features, in_features).uniform_(-bound, bound)
        self.bias = torch.empty(out_features).uniform_(-bound, bound)
        self.grad_weight = torch.zeros_like(self.weight)
        self.grad_bias = torch.zeros_like(self.bias)
        self.x = None

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear: expected input (N, {self.in_features}), got {tuple(x.shape)}")
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, grad_output):
        x = need(self.x, "Linear")
        self.grad_weight += grad_output.T @ x
        self.grad_bias += grad_output.sum(dim=0)
        return grad_output @ self.weight

    def param(self):
        return [[self.weight, self.grad_weight], [self.bias, self.grad_bias]]


class ReLU(Module):
    def __init__(self):
        self.x = None

    def forward(self, x):
        self.x = x
        return x.clamp(min=0)

    def backward(self, grad_output):
        x = need(self.x, "ReLU")
        same_shape(grad_output, x, "ReLU")
        return grad_output * (x > 0)


class Tanh(Module):
    def __init__(self):
        self.x = self.y = None

    def forward(self, x):
        self.x, self.y = x, torch.tanh(x)
        return self.y

    def backward(self, grad_output):
        y = need(self.y, "Tanh")
        same_shape(grad_output, y, "Tanh")
        return grad_output * (1 - y * y)


class Sigmoid(Module):
    def __init__(self):
        self.x = self.y = None

    def forward(self, x):
        self.x, self.y = x, 1 / (1 + torch.exp(-x))
        return self.y

    def backward(self, grad_output):
        y = need(self.y, "Sigmoid")
        same_shape(grad_output, y, "Sigmoid")
        return grad_output * y * (1 - y)


class LogSoftmax(Module):
    def __init__(self):
        self.y = None

    def forward(self, x):
        z = x - x.max(dim=1, keepdim=True).values
        self.y = z - z.exp().sum(dim=1, keepdim=True).log()
        return self.y

    def backward(self, grad_output):
        y = need(self.y, "LogSoftmax")
        same_shape(grad_output, y, "LogSoftmax")
        return grad_output - y.exp() * grad_output.sum(dim=1, keepdim=True)


class MSE(Module):
    def __init__(self):
        self.diff = None

    def forward(self, prediction, target):
        if prediction.shape != target.shape:
            raise ValueError(f"MSE: target shape {tuple(target.shape)}, expected {tuple(prediction.shape)}")
        self.diff = prediction - target
        return (self.diff ** 2).mean()

    def backward(self):
        diff = need(self.diff, "MSE")
        return 2 * diff / diff.numel()


class CrossEntropy(Module):
    def __init__(self):
        self.p = self.target = None

    def forward(self, logits, target):
        if target.shape != (logits.shape[0],):
            raise ValueError(f"CrossEntropy: target shape {tuple(target.shape)}, expected ({logits.shape[0]},)")
        z = logits - logits.max(dim=1, keepdim=True).values
        log_p = z - z.exp().sum(dim=1, keepdim=True).log()
        self.p, self.target = log_p.exp(), target
        return -log_p[torch.arange(len(target)), target].mean()

    def backward(self):
        p = need(self.p, "CrossEntropy")
        grad = p.clone()
        grad[torch.arange(len(self.target)), self.target] -= 1
        return grad / len(self.target)


class Sequential(Module):
    def __init__(self, *modules):
        self.modules = list(modules)

    def forward(self, x):
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, grad_output):
        for m in reversed(self.modules):
            grad_output = m.backward(grad_output)
        return grad_output

    def param(self):
        return [pair for m in self.modules for pair in m.param()]


class SGD:
    def __init__(self, params, lr, momentum=0.0):
        if not lr > 0:
            raise ValueError(f"SGD: lr must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.params, self.lr, self.momentum = list(params), lr, momentum
        self.buffers = [None] * len(self.params)

    def step(self):
        for k, (p, grad) in enumerate(self.params):
            if self.momentum:
                if self.buffers[k] is None:
                    self.buffers[k] = grad.clone()
                else:
                    self.buffers[k].mul_(self.momentum).add_(grad)
                grad = self.buffers[k]
            p -= self.lr * grad

    def zero_grad(self):
        for _, grad in self.params:
            grad.zero_()


SOLUTIONS = {
    "module": (Module,), "linear": (Linear,), "relu": (ReLU,), "tanh": (Tanh,), "sigmoid": (Sigmoid,),
    "log_softmax": (LogSoftmax,), "mse": (MSE,), "cross_entropy": (CrossEntropy,),
    "sequential": (Sequential,), "sgd": (SGD,),
}
