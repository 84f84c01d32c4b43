"""The Typer app: variables as options, and errors turned into messages and exit status.

Variables are given as options named after them (``--x 1 --y 2``), which no fixed
option list can declare; :class:`VariableCommand` takes every ``--NAME VALUE`` that is
not one of the command's own options before Typer parses the rest.  User errors
(:class:`AdcliError`) become a message on stderr and exit status 2 here, in one place,
with the settings and variables they name spelled as options.

(No ``from __future__ import annotations`` in cli/: Typer would then evaluate every
annotation string of every command at each start, which costs start-up time.)
"""

from collections.abc import Sequence
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import AdcliError, OutputFileError, UnknownVariableError, command_line_spelling

ASSIGNMENTS = "adcli.assignments"


OWN_OPTIONS = "adcli.own_options"


class VariableCommand(TyperCommand):
    """A command that also takes ``--NAME VALUE`` (or ``--NAME=VALUE``) for any variable NAME.

    Its own options come first: ``--wrt x``, ``-O adam`` or ``-Oadam``; an own option that
    needs a value and has none (``--wrt`` last, or followed by another option) is an error,
    not a swallowed token.  Every other ``--NAME`` is a variable and needs a value; one that
    has none, or whose name is close to one of the command's options, is reported as the
    likely typo it is (``--jsn``: did you mean --json?).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        own: dict[str, Any] = {}
        takes_value: set[str] = set()
        for param in self.get_params(ctx):
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            own.update(dict.fromkeys(names, param))
            if getattr(param, "param_type_name", "") == "option" and not (
                    getattr(param, "is_flag", False) or getattr(param, "count", False)):
                takes_value.update(names)
        ctx.meta[OWN_OPTIONS] = own
        options: list[str] = []
        positional: list[str] = []
        assignments: list[tuple[str, str]] = []
        i = 0
        while i < len(args):
            arg = args[i]
            flag, eq, inline = arg.partition("=")
            following = args[i + 1] if i + 1 < len(args) else None
            if arg == "--":
                positional.extend(args[i + 1:])
                break
            if arg[:2] in takes_value and len(arg) > 2 and not arg.startswith("--"):
                options += [arg[:2], arg[2:]]  # a short option with its value attached: -Oadam
            elif flag in own:
                options.append(arg)
                if not eq and flag in takes_value:
                    if following is None or _is_flag(following):
                        ctx.fail(f"{flag} needs a value")
                    else:
                        options.append(following)
                        i += 1
            elif arg.startswith("--") and len(flag) > 2:
                if eq:
                    value = inline
                elif following is not None and not _is_flag(following):
                    value = following
                    i += 1
                else:
                    ctx.fail(_not_an_option(flag, own) or f"{flag} needs a value: {flag} VALUE")
                assignments.append((flag[2:], value))
            else:
                positional.append(arg)  # the expression, even when it starts with '-'
            i += 1
        ctx.meta[ASSIGNMENTS] = assignments
        arguments = [p for p in self.get_params(ctx) if getattr(p, "param_type_name", "") == "argument"]
        if len(positional) > len(arguments):
            ctx.fail(_extra_arguments(positional, len(arguments)))
        return super().parse_args(ctx, [*options, "--", *positional])

    def invoke(self, ctx: Any) -> Any:
        try:
            _distinct_files(ctx, self.get_params(ctx))
            return super().invoke(ctx)
        except AdcliError as error:
            from ..render.console import console, error_text

            own = ctx.meta.get(OWN_OPTIONS, {})

            def spelling(kind: str, name: str, value: str) -> str:
                if kind == "v" and value and f"--{name}" in own:  # --file is the command's own
                    return f"--var {name}={value}"
                return command_line_spelling(kind, name, value)

            message = error.render(spelling)
            given = {name for name, _ in ctx.meta.get(ASSIGNMENTS, ())}
            if isinstance(error, UnknownVariableError) and error.name in given:
                # given as --NAME VALUE: perhaps a mistyped option (not when --fix or --bounds named it)
                typo = _not_an_option(f"--{error.name}", ctx.meta.get(OWN_OPTIONS, {}))
                if typo:
                    message = f"{typo} (and the expression has no variable '{error.name}')"
            console(stderr=True).print(error_text(message), soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (adcli ... | head): nothing more to say, nor anyone to say it to.
            _quiet_stdout()
            raise typer.Exit(1) from None
        except OSError as error:  # writing the output failed: a full disk, a closed stream
            from ..render.console import console, error_text

            _quiet_stdout()
            console(stderr=True).print(
                error_text(f"cannot write the output: {error.strerror or error}"), soft_wrap=True)
            raise typer.Exit(2) from None


INPUT_FILES = ("file", "data", "params")
OUTPUT_FILES = ("output", "save", "plot")


def _distinct_files(ctx: Any, params: list[Any]) -> None:
    """Before any work: an output file may not be an input (``fit --data d.csv -o d.csv``
    would replace the data) or another output (one would replace the other)."""
    import os

    flags = {param.name: param.opts[0] for param in params if getattr(param, "opts", None)}
    seen: dict[Any, str] = {}
    for name in (*INPUT_FILES, *OUTPUT_FILES):
        path = ctx.params.get(name)
        if path is None or str(path) == "-":
            continue
        keys: list[Any] = [os.path.realpath(path)]
        try:
            stat = os.stat(path)
            keys.append((stat.st_dev, stat.st_ino))  # the same file by another name (a hard link)
        except OSError:
            pass
        for key in keys:
            if key in seen:
                raise OutputFileError(f"{flags.get(name, name)} {path} is the file of {seen[key]} too: "
                                      "writing it would replace that; choose another name")
        seen.update(dict.fromkeys(keys, flags.get(name, name)))


def _is_flag(token: str) -> bool:
    """Whether a token is an option rather than a value: ``--json``; not ``-1`` or ``-pi``."""
    return token.startswith("--") and len(token) > 2


def _extra_arguments(positional: list[str], expected: int) -> str:
    """What to say of words past the expression: ``-m`` is an option the command lacks; ``x=1``
    is a variable's value, to be given as ``--x 1``; other words are likely an expression
    that has spaces and no quotes."""
    import re

    extra = positional[expected:]
    for word in extra:
        if re.fullmatch(r"-[A-Za-z]\w*", word):
            return f"no such option: {word}"
        match = re.fullmatch(r"([A-Za-z_]\w*)=(.+)", word)
        if match:
            name, value = match.groups()
            return f"unexpected argument '{word}': give a variable's value as an option: --{name} {value}"
    if expected == 0:
        return f"unexpected argument(s): {' '.join(extra)}"
    words = " ".join(positional)
    return (f"unexpected argument(s) after the expression: {' '.join(extra)}; "
            f"quote an expression that has spaces: \"{words}\"")


def _not_an_option(flag: str, own: dict[str, Any]) -> str | None:
    """"no such option" with a suggestion, when ``flag`` looks like a mistyped option of the
    command: close to one of its names, or one of the choices of an option (``--json`` for
    ``--format json``)."""
    from ..errors import suggest

    longs = [name for name in own if name.startswith("--")]
    close = suggest(flag, longs)
    if close is not None:
        return f"no such option: {flag}; did you mean {close}?"
    for name, param in own.items():
        choices = getattr(getattr(param, "type", None), "choices", None) or ()
        if name.startswith("--") and flag[2:] in [str(getattr(c, "value", c)) for c in choices]:
            return f"no such option: {flag}; did you mean {name} {flag[2:]}?"
    return None


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that Python's flush at exit cannot fail again."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


_CLICK_ERROR: Any = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")
"""Click's base of usage errors (typer 0.28 carries its own copy of Click; earlier ones use Click)."""


class AdcliGroup(TyperGroup):
    """The app: a usage error that Typer finds (an unknown command, an option's value out of
    its range, a bad choice) prints as adcli's own errors do, ``error: ...`` on stderr and exit
    status 2, then where to find help; not in a framed box."""

    def main(self, args: Optional[Sequence[str]] = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        import sys

        def run() -> Any:
            return super(AdcliGroup, self).main(args, prog_name, complete_var, False,
                                                windows_expand_args, **extra)

        if not standalone_mode:
            return run()
        try:
            # not standalone: an Exit comes back as its status, a usage error as itself
            status = run()
        except _CLICK_ERROR as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # (the help is its message, or printed)
                if error.format_message().strip():
                    typer.echo(error.format_message(), err=True)
            else:
                _usage_error(error.format_message(), getattr(error, "ctx", None))
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)


def _usage_error(message: str, ctx: Any) -> None:
    from ..render.console import console, error_text

    out = console(stderr=True)
    out.print(error_text(message), soft_wrap=True)
    if ctx is not None:
        out.print(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.", soft_wrap=True,
                  markup=False, highlight=False)


app = typer.Typer(
    cls=AdcliGroup,
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
    ctx: typer.Context,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
    max_input: Annotated[Optional[int], typer.Option(
        "--max-input", min=1, metavar="BYTES", show_default=False,
        help="The most bytes of expression text to read (default 4,000,000).")] = None,
) -> None:
    """Differentiate and optimize math expressions from the shell.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2
    """
    ctx.meta["adcli.max_input"] = max_input


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    import gc
    import sys

    # AST nodes and Scalars form no reference cycles, but a 100,000-node expression makes
    # the cyclic collector rescan them again and again; collect rarely instead.
    gc.set_threshold(100_000, 50, 100)
    try:
        app(prog_name="adcli")
    finally:
        try:
            sys.stdout.flush()  # what is still buffered: a failure here is the output's too
        except OSError:
            _quiet_stdout()


