"""`import-arcus` and `export-arcus`: move between ARCUS JSON (arcus.sh) and the cluster file."""

from __future__ import annotations

import sys
from pathlib import Path

from arcus_tui.model import parse_cluster
from arcus_tui.model.arcus_json import ArcusJsonError, dump_arcus, ensemble_order_note, import_arcus
from arcus_tui.model.load import current_user
from arcus_tui.model.toml_writer import dump_cluster

from . import EXIT_OK, EXIT_USAGE
from .common import add_cluster_argument, load_or_report, report_problems


def add_parser(subparsers) -> None:
    imp = subparsers.add_parser("import-arcus", help="ARCUS JSON (arcus.sh conf) -> cluster file")
    imp.add_argument("json_file", metavar="CONF.json")
    imp.add_argument("-z", "--zookeeper", required=True, metavar="HOST:PORT,...",
                     help="the ensemble, as given to arcus.sh -z (its order sets each member's myid)")
    imp.add_argument("--external-zookeeper", action="store_true",
                     help="the ensemble already runs: list it in [zookeeper] servers instead of on hosts")
    imp.add_argument("--user", default=None, help="SSH login for every host (default: the current user)")
    imp.add_argument("-o", "--output", metavar="FILE.toml", help="write here (default: standard output)")
    imp.add_argument("--force", action="store_true", help="overwrite an existing output file")
    imp.set_defaults(run=run_import)

    exp = subparsers.add_parser("export-arcus", help="cluster file -> ARCUS JSON on standard output")
    add_cluster_argument(exp)
    exp.set_defaults(run=run_export)


def run_import(args) -> int:
    try:
        text = Path(args.json_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{args.json_file}: cannot read: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return EXIT_USAGE
    ensemble = [part.strip() for part in args.zookeeper.split(",") if part.strip()]
    try:
        cluster = import_arcus(text, ensemble, user=args.user or current_user(), external=args.external_zookeeper)
    except ArcusJsonError as error:
        print(f"{args.json_file}: {error}", file=sys.stderr)
        return EXIT_USAGE
    toml_text = dump_cluster(cluster)
    result = parse_cluster(toml_text, args.output or "<output>")
    if not result.ok:  # e.g. a hostname that is not a plain name: say so rather than write a bad file
        print(f"{args.json_file}: the imported cluster is not valid:", file=sys.stderr)
        report_problems(result)
        return EXIT_USAGE
    report_problems(result)  # warnings only by now (an unusual threads, memlimit or connections, say)
    if note := ensemble_order_note(cluster, ensemble):
        print(f"note: {note}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(toml_text)
        return EXIT_OK
    output = Path(args.output)
    if output.exists() and not args.force:
        print(f"{output}: already exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_USAGE
    try:
        output.write_text(toml_text, encoding="utf-8")
    except OSError as error:
        print(f"{output}: cannot write: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {output}: {len(cluster.hosts)} host(s), {sum(len(h.memcached) for h in cluster.hosts)} node(s)",
          file=sys.stderr)
    return EXIT_OK


def run_export(args) -> int:
    cluster = load_or_report(args.cluster_file, package=False)  # the JSON does not carry the package
    if cluster is None:
        return EXIT_USAGE
    sys.stdout.write(dump_arcus(cluster))
    print(f"# arcus.sh -z {cluster.connect_string}", file=sys.stderr)
    return EXIT_OK
