"""``symlearn optimizers``: every optimizer with its update rule."""

NAME = "optimizers"
HELP = "list the optimizers (torch.optim's names and defaults) with their update rules"
DESCRIPTION = (
    "List symlearn.optim's optimizers, each with torch.optim's default hyper-parameters and its\n"
    "update rule as equations (state_{t+1} = F(state_t, g_t, t)), in plain text or LaTeX."
)

_NAMES = ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam")


def configure(parser):
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these ({', '.join(_NAMES)})")
    parser.add_argument(
        "--latex", action="store_true", help="print the equations as LaTeX instead of plain text"
    )


def run(args) -> int:
    from ..cli import UsageError

    unknown = [n for n in args.names if n not in _NAMES]
    if unknown:
        raise UsageError(f"unknown optimizer {unknown[0]!r}; choose from {', '.join(_NAMES)}")
    _print_optimizers(args.names or _NAMES, args.latex)  # a closed pipe: see cli.main
    return 0


def _print_optimizers(names, as_latex: bool) -> None:
    import sympy as sp

    from .. import optim
    from ..printing.latex import latex

    for i, name in enumerate(names):
        optimizer = getattr(optim, name)()
        if i:
            print()
        arguments = ", ".join(f"{k}={v!r}" for k, v in optimizer.hyperparameters.items())
        print(f"{name}({arguments})  [torch.optim.{optimizer.torch_name}]")
        print(f"  {optimizer.summary}")
        for equation in optimizer.equations:
            if as_latex:
                print(f"  {latex(equation.lhs)} = {latex(equation.rhs)}")
            else:
                plain = {s: sp.Symbol(_plain(s.name)) for s in equation.free_symbols}
                print(f"  {sp.sstr(equation.lhs.xreplace(plain))} = {sp.sstr(equation.rhs.xreplace(plain))}")


def _plain(name: str) -> str:
    r"""A LaTeX symbol name as plain text: ``\hat{m}_{t+1}`` -> ``mhat_{t+1}``, ``\beta_{1}`` -> ``beta1``."""
    import re

    name = re.sub(r"\\(hat|bar|tilde)\{(\w+)\}", r"\2\1", name)
    name = re.sub(r"_\{(\d+)\}", r"\1", name)  # beta_{1} -> beta1
    name = re.sub(r"_\{(\w+)\}", r"_\1", name)  # m_{t} -> m_t
    name = name.replace("\\Delta", "d").replace("\\", "")
    return name.replace("^{max}", "max")
