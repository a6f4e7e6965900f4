"""Every option of every command of the CLI is in the README's command table: the row of a
command (its first cell names `fraudnet <command>`) lists each of its options."""
import re

import click

from cli.main import main

from .conftest import REPO


def leaves(group=main, path=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            if cmd.invoke_without_command:
                yield path + (name,), cmd
            yield from leaves(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def rows() -> list[tuple[str, str]]:
    """The README's command table rows as (first cell, whole row), with `a\\|b` alternatives of
    the first cell spelled out."""
    out = []
    for cell, row in re.findall(r"^(\| (`fraudnet .*?) \| .*)$", (REPO / "README.md").read_text(), re.M):
        cell, row = row, cell
        out.append((cell, row))
        for m in re.finditer(r"fraudnet ((?:\w[\w-]* )*)([\w-]+(?:\\\|[\w-]+)+)", cell):   # schedule check\|run\|once
            out += [(cell.replace(m.group(0), f"fraudnet {m.group(1)}{alt}"), row) for alt in m.group(2).split("\\|")]
    return out


def test_every_option_of_every_command_is_in_its_readme_row():
    table = rows()
    missing = []
    for path, cmd in leaves():
        name = "fraudnet " + " ".join(path)
        mine = [row for c, row in table if re.search(rf"{re.escape(name)}(?![\w-])(?! (?:{'|'.join(getattr(cmd, 'commands', {}) or ['^'])})\b)", c)]
        if not mine:
            missing.append(f"{name}: no row")
            continue
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name != "help":
                if not any(re.search(rf"{re.escape(flag)}(?![\w-])", row) for row in mine for flag in p.opts):
                    missing.append(f"{name}: {max(p.opts, key=len)}")
    assert missing == []


def test_every_argument_of_every_command_is_named_in_its_readme_row_as_its_usage_names_it():
    """`fraudnet export --help` says `fraudnet export [OPTIONS] DIR` when the README says
    `fraudnet export DIR`: the usage line and the README agree (a choice argument: its choices)."""
    table = rows()
    wrong = []
    for path, cmd in leaves():
        name = "fraudnet " + " ".join(path)
        mine = [c for c, row in table if re.search(rf"{re.escape(name)}(?![\w-])", c)]
        for p in cmd.params:
            if not isinstance(p, click.Argument):
                continue
            said = lambda w, cells: any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", c) for c in cells)
            word = re.sub(r"[][.…]", "", p.metavar or p.name.upper())
            if isinstance(p.type, click.Choice):      # its choices are all in the rows (`convert finess…`), or its name
                if all(said(w, [row for c, row in table if c in mine]) for w in p.type.choices) or \
                        (p.metavar and said(word, mine)):
                    continue
                wrong.append(f"{name}: {' '.join(p.type.choices)}")
            elif not said(word, mine):
                wrong.append(f"{name}: {word}")
    assert wrong == []
