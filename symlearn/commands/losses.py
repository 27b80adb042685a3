"""``symlearn losses``: the loss catalog as a table (name, formula, torch twin, domain)."""

NAME = "losses"
HELP = "list the loss catalog: name, formula, PyTorch twin and domain"
DESCRIPTION = (
    "List symlearn.losses' catalog, one loss a row: its torch.nn.functional name (or its own,\n"
    "without a twin), its per-element formula (plain text, or LaTeX with --latex), its PyTorch\n"
    "twin and the domain of its arguments."
)


def configure(parser):
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these losses")
    parser.add_argument("--latex", action="store_true", help="print the formulas as LaTeX")


def run(args) -> int:
    from ..cli import UsageError
    from ..losses import catalog

    unknown = [n for n in args.names if n not in catalog]
    if unknown:
        raise UsageError(
            f"unknown loss {unknown[0]!r}; run 'symlearn losses' to see the {len(catalog)} names"
        )
    import sympy as sp

    from ..printing.latex import latex

    rows = [("name", "formula", "torch twin", "domain")]
    for name in args.names or catalog:
        spec = catalog[name].spec
        formula = latex(spec.expr) if args.latex else sp.sstr(spec.expr)
        twin = spec.torch.rsplit(".", 1)[-1] if spec.torch else "-"
        domain = "; ".join(f"{k}: {v}" for k, v in spec.domain.items())
        rows.append((name, formula, twin, domain))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
        if i == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * len(row[3]))
    return 0
