"""The ``adcli`` command line: options in, one library call, results to rendering.

Variables are given as options named after them (``--x 1 --y 2``), which no
fixed option list can declare; :class:`VariableCommand` takes every ``--NAME
VALUE`` that is not one of the command's own options before Typer parses the
rest.  User errors (:class:`AdcliError`) become a message on stderr and exit
status 2 here, in one place.

(No ``from __future__ import annotations`` here: Typer would then evaluate every
annotation string of every command at each start, which costs start-up time.)
"""

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from .. import __version__
from ..errors import AdcliError

ASSIGNMENTS = "adcli.assignments"


class VariableCommand(TyperCommand):
    """A command that also takes ``--NAME VALUE`` (or ``--NAME=VALUE``) for any variable NAME."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        own: set[str] = set()
        takes_value: set[str] = set()
        for param in self.get_params(ctx):
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            own.update(names)
            if getattr(param, "param_type_name", "") == "option" and not (
                    getattr(param, "is_flag", False) or getattr(param, "count", False)):
                takes_value.update(names)
        options: list[str] = []
        positional: list[str] = []
        assignments: list[tuple[str, str]] = []
        i = 0
        while i < len(args):
            arg = args[i]
            flag, eq, inline = arg.partition("=")
            if arg == "--":
                positional.extend(args[i + 1:])
                break
            if flag in own:
                options.append(arg)
                if not eq and flag in takes_value and i + 1 < len(args):
                    options.append(args[i + 1])
                    i += 1
            elif arg.startswith("--") and len(flag) > 2:
                if eq:
                    value = inline
                elif i + 1 < len(args):
                    value = args[i + 1]
                    i += 1
                else:
                    ctx.fail(f"{arg} needs a value: {arg} VALUE")
                assignments.append((flag[2:], value))
            else:
                positional.append(arg)  # the expression, even when it starts with '-'
            i += 1
        ctx.meta[ASSIGNMENTS] = assignments
        return super().parse_args(ctx, [*options, "--", *positional])

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AdcliError as error:
            from ..render.tables import console, error_text

            console(stderr=True).print(error_text(str(error)), soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


app = typer.Typer(
    name="adcli",
    help="Differentiate and optimize math expressions from the shell.\n\n"
         "Example:  adcli grad \"sin(x)+x*y\" --x 1 --y 2",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Differentiate and optimize math expressions from the shell.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2
    """


# ---------------------------------------------------------------- shared options

Expression = Annotated[Optional[str], typer.Argument(
    metavar="EXPR", show_default=False,
    help="The expression or program; - reads it from standard input.")]
File = Annotated[Optional[str], typer.Option(
    "--file", "-f", metavar="FILE", help="Read the expression from FILE (- for standard input).")]
Var = Annotated[Optional[list[str]], typer.Option(
    "--var", metavar="NAME=VALUE",
    help="Give a variable a value; for names that clash with an option. Repeatable.")]
Wrt = Annotated[Optional[str], typer.Option(
    "--wrt", metavar="X,Y", help="Differentiate only with respect to these variables; "
    "the others are held constant. Default: all.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]

VARIABLES_HELP = ("Give each variable as an option named after it: --x 1 --y=-2 --t pi/4 "
                  "(values may be constant expressions).")


def _assignments(ctx: typer.Context, var: list[str] | None) -> list[tuple[str, str]]:
    from ..language.inputs import parse_assignment

    given: list[tuple[str, str]] = list(ctx.meta.get(ASSIGNMENTS, []))
    return given + [parse_assignment(v) for v in var or []]


# ---------------------------------------------------------------- commands


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def grad(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    json: Json = False,
    trace: Annotated[bool, typer.Option(
        "--trace", help="Also show the evaluation trace w1 ... wn: each value, the local partials, "
        "the adjoint ∂f/∂wi, and each partial derivative as a sum over paths.")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: .svg (a picture of the terminal output) or .txt; "
        ".json with --json.")] = None,
) -> None:
    """The value and every partial derivative, by reverse-mode autodiff.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2 --trace
    """
    from ..engine.gradient import gradient_at
    from ..language.inputs import read_expression, resolve_point, resolve_wrt
    from ..language.parser import parse
    from ..render.tables import console, grad_json, grad_view, warning_text

    if output is not None:
        _check_output(output, json)
    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    names = resolve_wrt(program.variables, wrt)
    steps = None
    if trace:
        from ..views.trace import trace_at

        result, steps = trace_at(program, point, names)
    else:
        result, _ = gradient_at(program, point, names)
    if result.nonfinite:
        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {result.nonfinite}"),
            soft_wrap=True)
    if json:
        _emit_text(grad_json(result, steps), output)
    else:
        _emit(grad_view(result, steps), output)


# ---------------------------------------------------------------- writing output


def _check_output(path: Path, json: bool) -> None:
    from ..render.files import check_suffix

    if json:
        check_suffix(path, (".json",), "--json")
    else:
        check_suffix(path, (".svg", ".txt"), "--output", "; give --json to write .json")


def _wrote(path: Path) -> None:
    from ..render.tables import console

    console(stderr=True).print(f"wrote {path}", style="dim", soft_wrap=True)


def _emit_text(text: str, output: Path | None) -> None:
    """Text to stdout, or to the output file."""
    if output is None:
        typer.echo(text.rstrip("\n"))
        return
    from ..render.files import write_text

    write_text(output, text if text.endswith("\n") else text + "\n")
    _wrote(output)


def _emit(renderable: Any, output: Path | None) -> None:
    """A rich renderable to the terminal, or as a picture (.svg) or plain text (.txt) to a file."""
    from ..render.tables import console, picture

    if output is None:
        console().print(renderable)
        return
    from ..render.files import write_text

    write_text(output, picture(renderable, output.suffix.lower(), title=f"adcli: {output.name}"))
    _wrote(output)


# ---------------------------------------------------------------- graph


class GraphFormat(str, Enum):
    """What ``adcli graph`` draws."""

    tree = "tree"
    dot = "dot"
    mermaid = "mermaid"
    json = "json"


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def graph(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    form: Annotated[GraphFormat, typer.Option(
        "--format", help="tree: in the terminal; dot: Graphviz; mermaid: a diagram for Markdown; "
        "json: nodes and edges.", case_sensitive=False)] = GraphFormat.tree,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: tree .svg/.txt; dot .dot/.gv, or .svg/.png/.pdf drawn by "
        "Graphviz's dot; mermaid .mmd/.md; json .json.")] = None,
    depth: Annotated[Optional[int], typer.Option(
        "--depth", min=0, max=64, help="Show only the nodes at most this many steps from the "
        "output. Default: 8 for the tree, everything for dot and mermaid; json is never cut.")]
    = None,
) -> None:
    """The computation graph: every node's operation, value and gradient (adjoint ∂f/∂node).

    Example:  adcli graph "sin(x)+x*y" --x 1 --y 2 --format dot --output graph.svg
    """
    from ..language.inputs import read_expression, resolve_point, resolve_wrt
    from ..language.parser import parse
    from ..render.tables import graph_tree, to_json
    from ..views.graph import (
        DEFAULT_TREE_DEPTH,
        check_output,
        graph_at,
        graph_dict,
        save,
        to_dot,
        to_mermaid,
    )

    kind = form.value
    if output is not None:
        check_output(kind, output)
    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    view = graph_at(program, point, resolve_wrt(program.variables, wrt))
    if view.nonfinite:
        from ..render.tables import console, warning_text

        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {view.nonfinite}"),
            soft_wrap=True)
    if kind == "tree":
        _emit(graph_tree(view, DEFAULT_TREE_DEPTH if depth is None else depth), output)
        return
    if kind == "dot":
        text = to_dot(view, depth)
    elif kind == "mermaid":
        text = to_mermaid(view, depth)
    else:
        text = to_json(graph_dict(view)) + "\n"
    if output is None:
        _emit_text(text, None)
    else:
        save(text, kind, output)
        _wrote(output)


PLOT_HELP = ("Give each plotted variable a range, --x -2:2 or --t -pi:pi, and every other variable "
             "a value, --z 1. One range draws a curve with its tangent, two a contour map. "
             "Needs matplotlib: pip install 'adcli\\[plot]'.")


@app.command("plot", cls=VariableCommand, epilog=PLOT_HELP)
def plot_command(
    ctx: typer.Context,
    output: Annotated[str, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Where to write the picture: .png, .svg or .pdf.")],
    expression: Expression = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="VALUE", show_default=False,
        help="Where the curve's tangent touches it (a constant expression). "
             "Default: the middle of the range.")] = None,
    points: Annotated[Optional[int], typer.Option(
        "--points", metavar="N", min=2, max=2000, show_default=False,
        help="Samples along each plotted axis. Default: 400 for a curve, 150 for a contour map.")] = None,
    arrows: Annotated[bool, typer.Option(
        "--arrows/--no-arrows", help="Draw the gradient's direction as arrows on a contour map.")] = True,
    file: File = None,
    var: Var = None,
) -> None:
    """Draw a curve of one variable with its tangent, or a contour map of two.

    Example:  adcli plot "sin(x)" --x -pi:pi --at 1 --output curve.png
    """
    from ..language.inputs import read_expression
    from ..language.parser import parse, parse_constant
    from ..views.plot import output_format, plot

    output_format(output)
    program = parse(read_expression(expression, file))
    point = None if at is None else parse_constant(at, "--at")
    written = plot(program, _assignments(ctx, var), output, at=point, points=points, arrows=arrows)
    typer.echo(f"wrote {written}")


class CheckMethod(str, Enum):
    """How ``check`` estimates derivatives numerically (check.METHODS)."""

    central = "central"
    forward = "forward"
    richardson = "richardson"


class CheckMode(str, Enum):
    """Which autodiff ``check`` compares (check.MODES)."""

    reverse = "reverse"
    forward = "forward"


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def check(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    method: Annotated[CheckMethod, typer.Option(
        "--method", help="central: (f(x+h) - f(x-h))/2h; forward: (f(x+h) - f(x))/h; "
        "richardson: central differences extrapolated to h = 0, with an error estimate.")
    ] = CheckMethod.central,
    mode: Annotated[CheckMode, typer.Option(
        "--mode", help="forward: also compute the gradient by forward mode (dual numbers) and "
        "check reverse, forward and numeric against each other.")] = CheckMode.reverse,
    eps: Annotated[Optional[float], typer.Option(
        "--eps", metavar="H", show_default=False,
        help="Fixed finite-difference step. Default: chosen per variable from an error estimate.")
    ] = None,
    # The defaults live in autodiff_cli.check (imported only when the command runs);
    # a test checks that this help quotes them.
    rtol: Annotated[Optional[float], typer.Option(
        "--rtol", min=0.0, metavar="TOL", show_default=False,
        help="Relative tolerance: pass when |autodiff - numeric| <= atol + rtol*|numeric|. "
        "Default: 1e-05.")] = None,
    atol: Annotated[Optional[float], typer.Option(
        "--atol", min=0.0, metavar="TOL", show_default=False,
        help="Absolute tolerance, for derivatives near 0. Default: 1e-08.")] = None,
    points: Annotated[Optional[int], typer.Option(
        "--points", min=1, metavar="N", show_default=False,
        help="Check at N random points: variables given stay fixed, the others are drawn "
        "uniformly from --range. The worst point is reported first.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the random points.")] = 0,
    sample_range: Annotated[str, typer.Option(
        "--range", metavar="LO:HI", help="Range for the random points.")] = "-2:2",
    json: Json = False,
) -> None:
    """Check the gradient against finite differences; exit status 1 when a derivative fails.

    Example:  adcli check "sin(x)+x*y" --x 1 --y 2
    """
    from ..check.point import ATOL, RTOL, CheckSettings, check_program, parse_range
    from ..language.inputs import read_expression
    from ..language.parser import parse
    from ..render.tables import check_json, check_view, console

    settings = CheckSettings(method=method.value, mode=mode.value, eps=eps,
                             rtol=RTOL if rtol is None else rtol, atol=ATOL if atol is None else atol,
                             points=points, seed=seed, sample_range=parse_range(sample_range))
    program = parse(read_expression(expression, file))
    report = check_program(program, _assignments(ctx, var), wrt, settings)
    if json:
        typer.echo(check_json(report))
    else:
        console().print(check_view(report))
    if not report.ok:
        raise typer.Exit(1)


Order = Annotated[int, typer.Option(
    "--order", min=1, metavar="N", help="Differentiate N times (pure derivatives: d²f/dx², ...).")]
OneLine = Annotated[bool, typer.Option(
    "--one-line", help="Join the statements with '; ' instead of new lines.")]


@app.command(cls=VariableCommand)
def diff(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    wrt: Wrt = None,
    order: Order = 1,
    one_line: OneLine = False,
    json: Json = False,
) -> None:
    """The symbolic derivative, simplified, printed in adcli's language so it can be fed back in.

    Subexpressions used more than once are named (d1 = ...) on lines before the result.

    Example:  adcli diff "x^2*sin(x)" --wrt x
    """
    from ..engine.symbolic import differentiate
    from ..errors import VariableError
    from ..language.inputs import read_expression, resolve_wrt
    from ..language.parser import parse
    from ..render.tables import diff_json, diff_text

    for name, _ in ctx.meta.get(ASSIGNMENTS, []):
        raise VariableError(f"diff takes no values: --{name} is not one of its options "
                            "(see adcli diff --help)")
    program = parse(read_expression(expression, file))
    result = differentiate(program, resolve_wrt(program.variables, wrt), order, one_line)
    typer.echo(diff_json(result) if json else diff_text(result))


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def hessian(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    json: Json = False,
) -> None:
    """The Hessian matrix by automatic differentiation (reverse over reverse), with its eigenvalues.

    Positive definite at a critical point: a local minimum; negative definite: a
    maximum; indefinite: a saddle.

    Example:  adcli hessian "x^2 - y^2" --x 0 --y 0
    """
    from ..engine.hessian import hessian_at
    from ..language.inputs import read_expression, resolve_point, resolve_wrt
    from ..language.parser import parse
    from ..render.tables import console, hessian_json, hessian_view, warning_text

    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    result = hessian_at(program, point, resolve_wrt(program.variables, wrt))
    if result.nonfinite or result.eigenvalues is None:
        where = f"; the first came from {result.nonfinite}" if result.nonfinite else ""
        console(stderr=True).print(warning_text(f"non-finite result{where}"), soft_wrap=True)
    if json:
        typer.echo(hessian_json(result))
    else:
        console().print(hessian_view(result))


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    import gc

    # AST nodes and Scalars form no reference cycles, but a 100,000-node expression makes
    # the cyclic collector rescan them again and again; collect rarely instead.
    gc.set_threshold(100_000, 50, 100)
    app(prog_name="adcli")


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP + " Optimizers and their update rules: "
             "see the README. Exit status: 0 done, 1 diverged, 130 interrupted.")
def descend(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    optimizer: Annotated[str, typer.Option(
        "--optimizer", "-O", help="sgd, momentum, nesterov, adam, rmsprop or adagrad.")] = "sgd",
    lr: Annotated[Optional[float], typer.Option(
        "--lr", min=0.0, help="Learning rate. Default: the optimizer's, as in torch.optim "
        "(1e-3 for sgd, momentum, nesterov and adam; 1e-2 for rmsprop and adagrad).")] = None,
    steps: Annotated[int, typer.Option("--steps", min=0, help="The most steps to take.")] = 1000,
    momentum: Annotated[Optional[float], typer.Option(
        "--momentum", min=0.0, help="momentum/nesterov: μ (default 0.9).")] = None,
    beta1: Annotated[Optional[float], typer.Option(
        "--beta1", min=0.0, max=1.0, help="adam: β1 (default 0.9).")] = None,
    beta2: Annotated[Optional[float], typer.Option(
        "--beta2", min=0.0, max=1.0, help="adam: β2 (default 0.999).")] = None,
    alpha: Annotated[Optional[float], typer.Option(
        "--alpha", min=0.0, max=1.0, help="rmsprop: smoothing α (default 0.99).")] = None,
    lr_decay: Annotated[Optional[float], typer.Option(
        "--lr-decay", min=0.0, help="adagrad: learning-rate decay (default 0).")] = None,
    eps: Annotated[Optional[float], typer.Option(
        "--eps", min=0.0, help="adam, rmsprop, adagrad: ε added to the denominator.")] = None,
    line_search: Annotated[bool, typer.Option(
        "--line-search", help="Backtracking (Armijo) line search from --lr (sgd).")] = False,
    clip: Annotated[Optional[float], typer.Option(
        "--clip", min=0.0, metavar="NORM", help="Clip the gradient's norm to NORM.")] = None,
    maximize: Annotated[bool, typer.Option("--maximize", help="Ascend instead.")] = False,
    tol: Annotated[float, typer.Option(
        "--tol", min=0.0, help="Stop when the gradient norm falls below this (0: never).")] = 1e-8,
    ftol: Annotated[float, typer.Option(
        "--ftol", min=0.0, help="Stop when the loss changes by less than this in a step.")] = 0.0,
    fix: Annotated[Optional[list[str]], typer.Option(
        "--fix", metavar="X,Y", help="Hold these variables constant.")] = None,
    init: Annotated[Optional[str], typer.Option(
        "--init", metavar="VALUE", help="Start value for variables not given one.")] = None,
    every: Annotated[Optional[int], typer.Option(
        "--every", min=1, metavar="K", help="A progress row every K steps (default: ~20 rows).")] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write every step to FILE: .csv or .jsonl.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="FILE", help="Draw the loss curve, and the path on a contour map for "
        "two variables, to FILE (.png, .svg, .pdf; needs the plot extra).")] = None,
    json: Json = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Minimize an expression by gradient descent, with a live progress table.

    Example:  adcli descend "(1-x)^2 + 100*(y-x^2)^2" --x -1.5 --y 2 --lr 1e-3 --steps 20000
    """
    from ..language.inputs import check_names, comma_list, read_expression, resolve_point
    from ..language.parser import parse, parse_constant
    from ..optimize.descent import Descent, DescentConfig
    from ..render.tables import LiveProgress, console, descent_json, descent_summary
    from ..render.trajectory import TrajectoryWriter

    program = parse(read_expression(expression, file))
    default = parse_constant(init, "--init") if init is not None else None
    start = resolve_point(program.variables, _assignments(ctx, var), default,
                          "; or give every variable without one a start value with --init VALUE")
    fixed = comma_list(fix)
    check_names(fixed, program.variables, "fixed")
    hyper = {name: value for name, value in (("lr", lr), ("momentum", momentum), ("beta1", beta1),
             ("beta2", beta2), ("alpha", alpha), ("lr_decay", lr_decay), ("eps", eps))
             if value is not None}
    if plot:
        from ..views.plot import check_can_plot

        check_can_plot(plot)  # fail before the run, not after it
    config = DescentConfig(optimizer=optimizer, hyper=hyper, steps=steps, tol=tol, ftol=ftol,
                           maximize=maximize, clip=clip, line_search=line_search, every=every,
                           record=output is not None or plot is not None)
    descent = Descent(program, start, tuple(n for n in program.variables if n not in fixed), config)
    writer = TrajectoryWriter(output, descent.free) if output else None
    kept: list[tuple[float, ...]] = []  # the steps to plot: at most about 20,000 of them
    stride = max(1, steps // 20_000)

    def drain() -> None:
        if writer:
            writer.write(descent.records)
        if plot:
            kept.extend(r for r in descent.records if int(r[0]) % stride == 0)
        descent.records.clear()

    out = console()
    try:
        # In a terminal, a live table; piped, redirected, --json or --quiet: no animation.
        with LiveProgress(out, program.variables, enabled=out.is_terminal and not (json or quiet)) \
                as progress:
            for row in descent.progress():
                drain()
                if row is not None:
                    progress.add(row)
        result = descent.result
        assert result is not None
        code = 0 if result.ok else 1
    except KeyboardInterrupt:
        result = descent.interrupt()
        code = 130
    finally:
        drain()
        if writer:
            writer.close()
    if plot and kept:
        from ..views.plot import plot_descent

        if kept[-1][0] != result.steps:
            kept.append((result.steps, result.value, result.grad_norm,
                         *[result.point[n] for n in descent.free]))
        plot_descent(program, descent.free, [r[3:] for r in kept], [r[1] for r in kept], plot,
                     fixed={n: start[n] for n in fixed})
    if json:
        typer.echo(descent_json(result))
    else:
        out.print(descent_summary(result))
        if plot:
            out.print(f"wrote {plot}")
    if code:
        raise typer.Exit(code)
