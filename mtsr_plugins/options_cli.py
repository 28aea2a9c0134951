"""``mtsr-options``: check option files, and write the JSON Schema and docs/options.md from the key declarations.

    mtsr-options check FILE [FILE ...] [--train | --test] [--files]   exit 0: every file is fine; 2: problems
    mtsr-options schema -o FILE                                     the JSON Schema (2020-12) editors read
    mtsr-options docs -o docs/options.md                            every key, per section and type

``check`` judges each file on its own: every key known, every value of the declared kind, BasicSR's rules and each
class's cross-key checks; the data folders and weight files it names are looked at only with ``--files``. Training
or test run: ``--train`` / ``--test``, else a file with a ``train`` section (or under options/train/) is a
training file. Each problem is one line: ``FILE: key.path: what is wrong``.
"""
import argparse
import os
import sys


def build_parser():
    p = argparse.ArgumentParser(prog='mtsr-options', description='Check option files; write their schema and docs.')
    sub = p.add_subparsers(dest='command', required=True)
    check = sub.add_parser('check', help='check option files (exit 2 on any problem)')
    check.add_argument('files', nargs='+')
    kind = check.add_mutually_exclusive_group()
    kind.add_argument('--train', action='store_true', help='judge as training runs')
    kind.add_argument('--test', action='store_true', help='judge as test runs')
    check.add_argument('--files', dest='check_files', action='store_true',
                       help='also check that the data folders and weight files named exist')
    for name, what in (('schema', 'the JSON Schema'), ('docs', 'the Markdown page of every key')):
        cmd = sub.add_parser(name, help=f'write {what}')
        cmd.add_argument('-o', '--output', required=True)
    return p


def check_files(paths, is_train=None, files=False, out=sys.stdout):
    """Check each option file; print one line per problem (and 'ok' lines); return the number of problems."""
    import mtsr_plugins  # noqa: F401  (registers the package's types)
    from mtsr_plugins.checks.errors import OptionError
    from mtsr_plugins.checks.option_file import as_parsed, is_training_file, read_option_file
    from mtsr_plugins.checks.options import checking_files, find_problems
    count = 0
    for path in paths:
        try:
            opt = read_option_file(path)
        except OptionError as err:
            print(f'{path}: {err}', file=out)
            count += 1
            continue
        train = is_training_file(opt, path) if is_train is None else is_train
        with checking_files(files):
            found = find_problems(as_parsed(opt, train), is_train=train)
        for problem in found.problems:
            print(f'{path}: {problem}', file=out)
        for note in found.notes:
            print(f'{path}: note: {note}', file=out)
        if not found.problems:
            print(f"{path}: ok ({'training' if train else 'test'} options)", file=out)
        count += len(found.problems)
    return count


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    from mtsr_plugins.utils.atomic_files import atomic_write_text
    atomic_write_text(path, text)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == 'check':
        problems = check_files(args.files, True if args.train else False if args.test else None, args.check_files)
        return 2 if problems else 0
    import mtsr_plugins  # noqa: F401
    if args.command == 'schema':
        from mtsr_plugins.checks.json_schema import schema_text
        text = schema_text()
    else:
        from mtsr_plugins.checks.options_doc import build_doc
        text = build_doc()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    write_text(args.output, text)
    print(f'mtsr-options: wrote {args.output}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
