"""The ``zoo`` command. Listing, info, history and audit read only the registry
database: they import neither torch nor a plugin's model code (a test checks)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from zoo import render
from zoo.errors import ZooError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# -- output helpers ------------------------------------------------------------------------


def _open_registry(args: argparse.Namespace, *, sync: bool = True):
    from zoo.registry import Registry

    registry = Registry(args.registry)
    _opened(args).append(registry)
    if sync and not getattr(args, "no_sync", False):
        _sync_plugins(registry)
    return registry


def _opened(args: argparse.Namespace) -> list:
    """What this command opened; ``main`` closes it when the command ends (a fast-path
    PostgreSQL reader holds a snapshot transaction until it is closed)."""
    if not hasattr(args, "_zoo_opened"):
        args._zoo_opened = []
    return args._zoo_opened


def _open_reader(args: argparse.Namespace, *, sync: bool = True, postgresql: bool = True):
    """For commands that only read: the fast path (:mod:`zoo.registry._lite`: plain
    ``sqlite3``, or psycopg on PostgreSQL; no SQLAlchemy import) when the registry is up
    to date and its plugins are synced, else the full registry (which creates, upgrades
    or syncs). ``postgresql=False`` sends a PostgreSQL registry through the full one."""
    from zoo.registry._lite import open_lite

    lite = open_lite(args.registry, check_plugins=sync and not getattr(args, "no_sync", False), postgresql=postgresql)
    if lite is None:
        return _open_registry(args, sync=sync)
    _opened(args).append(lite)
    return lite


def _sync_plugins(registry) -> None:
    """Bring plugin-declared records in when the installed plugins changed (cheap when
    they did not: a fingerprint of entry-point metadata, no plugin import)."""
    try:
        from zoo import plugins
    except ImportError:  # the plugin host is optional for registry-only use
        return
    ensure = getattr(plugins, "ensure_synced", None)
    if ensure is not None:
        ensure(registry)


# -- commands ------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    registry = _open_reader(args)
    result = registry.search(
        args.pattern,
        modality=args.modality,
        task=args.task,
        license=args.license,
        commercial_use=args.commercial,
        dataset=args.dataset,
        status=args.status,
        tag=args.tag,
        arch=args.arch,
        limit=_list_limit(args),
    )
    if args.json:
        render.print_json({"total": result.total, "weights": [r.to_dict() for r in result.rows]})
        return EXIT_OK
    from rich.table import Table

    console = render.console()
    # Narrow terminals get the columns an auditor needs most; the name is never squeezed.
    wide = console.width >= 150
    columns = (
        ["name", "arch", "modality", "licence", "commercial", "trained on", "bias notes", "params", "status"]
        if wide
        else ["name", "licence", "commercial", "bias notes", "status"]
    )
    table = Table(title=f"zoo registry — {result.total} weights", title_justify="left")
    for column in columns:
        # Only the name may wrap: folding every cell makes rich's layout several times slower.
        table.add_column(
            column,
            style="bold" if column == "name" else None,
            overflow="fold" if column == "name" else "ellipsis",
            no_wrap=column != "name",
            max_width=24 if column in ("trained on", "arch") else None,
        )
    for r in result.rows:
        name = r.name if r.name.count(".") and "/" not in r.name else r.qualified_name
        cells = {
            "name": name + (" *" if r.is_default else ""),
            "arch": r.arch,
            "modality": r.modality,
            "licence": r.license_spdx,
            "commercial": {"allowed": "[green]allowed[/]", "forbidden": "[red]forbidden[/]"}.get(
                r.commercial_use, r.commercial_use
            ),
            "trained on": ", ".join(r.datasets),
            "bias notes": str(r.bias_notes) if r.bias_notes else "[red]none[/]",
            "params": render.params(r.num_params),
            "status": {"active": "active", "deprecated": "[yellow]deprecated[/]", "revoked": "[red]revoked[/]"}[
                r.status
            ],
        }
        table.add_row(*(cells[c] for c in columns))
    console.print(table)
    if len(result.rows) < result.total:
        console.print(
            f"showing {len(result.rows)} of {result.total}; use --limit 0 for all, "
            "or narrow with a pattern or filters (--help)"
        )
    console.print("* = the architecture's default weights")
    return EXIT_OK


def _list_limit(args: argparse.Namespace) -> int | None:
    # Scripts (--json) get every row; a table for people the first TABLE_ROWS; 0 is all.
    if args.limit is None:
        return None if args.json else TABLE_ROWS
    return args.limit or None


def cmd_info(args: argparse.Namespace) -> int:
    registry = _open_reader(args)
    info = registry.resolve(args.name)
    from zoo.compression import deployment

    rows = deployment(registry, info)
    if args.json:
        render.print_json(info.to_dict() | ({"deployment": rows} if rows else {}))
        return EXIT_OK
    render.card(info)
    if rows:
        render.deployment(info, rows)
    return EXIT_OK


def cmd_datasets(args: argparse.Namespace) -> int:
    infos = _open_reader(args).datasets()
    if args.json:
        render.print_json([i.to_dict() for i in infos])
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"datasets — {len(infos)}", title_justify="left")
    for column in ("name", "title", "terms", "commercial", "notes", "weights", "declared by"):
        table.add_column(column, overflow="fold")
    for i in infos:
        d = i.dataset
        table.add_row(
            d.name,
            escape(d.title or ""),
            d.terms.spdx,
            d.terms.commercial_use.value,
            str(len(d.notes)) if d.notes else "[red]none[/]",
            str(i.weights),
            i.plugin or "[dim]not declared[/]",
        )
    render.console().print(table)
    return EXIT_OK


def cmd_dataset(args: argparse.Namespace) -> int:
    info = _open_reader(args).dataset(args.name)
    if args.json:
        render.print_json(info.to_dict())
        return EXIT_OK
    from rich.markup import escape

    d, console = info.dataset, render.console()
    console.print(f"[bold]{d.name}[/]" + (f" — {escape(d.title)}" if d.title else ""))
    terms = (
        f"{d.terms.spdx}, commercial use: {d.terms.commercial_use.value}"
        + (f" ({d.terms.note})" if d.terms.note else "")
        + (f" {d.terms.url}" if d.terms.url else "")
    )
    for key, value in (
        ("url", d.url),
        ("terms", terms),
        ("size", d.size),
        ("collected", d.collection),
        ("description", d.description),
        ("named by", f"{info.weights} weights"),
        (
            "declared by",
            f"{info.plugin} {info.plugin_version or ''}".strip()
            if info.plugin
            else "no plugin (only named by weights; terms unknown)",
        ),
    ):
        if value:
            console.print(f"  [bold]{key:12}[/] {escape(value)}")
    console.print("\n[bold]Bias and limitation notes[/]")
    if not d.notes:
        console.print("  [red]none recorded[/]")
    for note in d.notes:
        severity = f" [{note.severity.value}]" if note.severity else ""
        console.print(f"  [bold]{escape(note.title or note.kind.value)}[/]{escape(severity)}: {escape(note.body)}")
        for ref in note.references:
            console.print(f"    ref: {escape(ref)}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    registry = _open_reader(args, sync=False)
    events = registry.history(args.name, limit=args.limit or None)
    if args.json:
        render.print_json([e.to_dict() for e in events])
        return EXIT_OK
    render.events(events)
    return EXIT_OK


def _check_audit_query(name: str) -> None:
    import difflib

    from zoo.errors import ZooNotFoundError
    from zoo.registry.queries import QUERIES

    known = [*AUDIT_COMMANDS, *QUERIES]
    if name not in known:
        raise ZooNotFoundError(
            "audit query",
            name,
            difflib.get_close_matches(name, known, 3, cutoff=0.5),
            hint="known queries: " + ", ".join(known) + " (`zoo audit --help`); `zoo sql` runs your own read-only SQL",
        )


def cmd_audit(args: argparse.Namespace) -> int:
    _check_audit_query(args.query)
    if args.limit is not None and args.limit < 0:
        raise _usage("--limit must be 0 (all rows) or a positive number")
    if args.query in ("checkpoint", "rotate-key"):
        return _audit_keys(args)
    registry = _open_reader(args, sync=False)
    if args.query == "verify":
        checkpoint = _read_checkpoint(args.checkpoint) if args.checkpoint else None
        result = registry.verify_audit(checkpoint=checkpoint)
        if args.json:
            render.print_json(result.to_dict())
        else:
            console = render.console()
            if result.ok:
                console.print(
                    f"[green]ok[/]: {result.events} audit events ({result.keyed} signed with audit key "
                    f"{', '.join(result.key_ids) or '-'}, {result.legacy} from before audit keys), "
                    f"chain head {result.head[:16]}…"
                    + (
                        f"; unchanged up to checkpoint event {result.checkpoint}"
                        if result.checkpoint is not None
                        else ""
                    )
                )
            else:
                console.print(f"[red]the audit trail does not verify[/] ({result.events} events):")
                for problem in result.problems:
                    console.print(f"  - {problem}")
        return EXIT_OK if result.ok else EXIT_FAILED
    params = _audit_params(args)
    result = registry.audit_query(args.query, **params)
    if args.query == "history" and args.json:
        # The same keys as `zoo history --json` (AuditEvent.to_dict): before/after as JSON values.
        from zoo.registry._reads import audit_event

        index = {c: i for i, c in enumerate(result.columns)}
        order = (
            "seq",
            "at",
            "actor",
            "action",
            "entity_type",
            "entity_key",
            "before_json",
            "after_json",
            "plugin",
            "plugin_version",
            "prev_hash",
            "hash",
            "key_id",
        )
        rows = result.rows if not args.limit else result.rows[: args.limit]
        render.print_json(
            [audit_event([row[index[c]] if c in index else None for c in order]).to_dict() for row in rows]
        )
        return EXIT_OK
    _print_query_result(result, args, args.query)
    return EXIT_OK


AUDIT_COMMANDS = ("verify", "checkpoint", "rotate-key")  # `zoo audit` verbs that are not named queries


def _audit_params(args: argparse.Namespace) -> dict[str, Any]:
    """The named query's arguments, as its entry (zoo.registry.queries) declares them:
    its positional parameter is TARGET, each other one ``--NAME``."""
    from zoo.registry.queries import get_query

    params: dict[str, Any] = {}
    for param in get_query(args.query).params:
        value = getattr(args, "target" if param.positional else param.name)
        if param.required and not value:
            raise _usage(f"`zoo audit {args.query}` needs a {param.name} name")
        params[param.name] = value
    return params


def _add_audit_arguments(p: argparse.ArgumentParser) -> None:
    """`zoo audit`'s query arguments and help, derived from the named queries' entries."""
    from zoo.registry.queries import QUERIES

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    import textwrap

    p.epilog = "queries:\n" + "\n".join(
        f"  {' '.join([q.name, *(_param_usage(x) for x in q.params)])}\n"
        + textwrap.fill(q.description, 88, initial_indent=" " * 6, subsequent_indent=" " * 6)
        for q in QUERIES.values()
    )
    targets = [f"{q.name}: {x.help}" for q in QUERIES.values() for x in q.params if x.positional]
    p.add_argument("target", nargs="?", help="; ".join(targets))
    options: dict[str, tuple[Any, list[str]]] = {}
    for q in QUERIES.values():
        for x in q.params:
            if not x.positional:
                options.setdefault(x.name, (x, []))[1].append(q.name)
    for name, (x, used_by) in options.items():
        kwargs: dict[str, Any] = {"action": "append"} if x.many else {}
        p.add_argument(
            f"--{name}", help=f"{', '.join(used_by)}: {x.help}" + (" (repeatable)" if x.many else ""), **kwargs
        )


def _param_usage(param: Any) -> str:
    if param.positional:
        return param.name.upper()
    return f"[--{param.name} {param.name.upper()}]" + ("..." if param.many else "")


def _audit_keys(args: argparse.Namespace) -> int:
    from rich.markup import escape

    if args.query == "rotate-key":
        from zoo.registry._keys import rotate_key

        kid, path = rotate_key()
        render.console().print(
            f"new audit key {kid} first in {escape(str(path))}; the old keys stay there to verify older events"
        )
        return EXIT_OK
    checkpoint = _open_registry(args, sync=False).audit_checkpoint()
    text = json.dumps(checkpoint, indent=2) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "x", encoding="utf-8") as handle:  # never overwrite an older checkpoint
                handle.write(text)
        except FileExistsError:
            raise _usage(f"{args.output} exists; a checkpoint never overwrites an older one") from None
        except OSError as exc:  # a missing folder, no permission: nothing was written
            raise _usage(f"cannot write checkpoint {args.output}: {exc.strerror}") from None
        render.console(stderr=True).print(
            f"checkpoint of event {checkpoint['seq']} written to {escape(args.output)}; "
            "keep it outside the registry's machine"
        )
    return EXIT_OK


def _read_checkpoint(path: str) -> dict[str, Any]:
    from zoo.errors import ZooAuditError

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ZooAuditError(
            f"cannot read checkpoint {path}: {exc}", hint="give a file written by `zoo audit checkpoint -o FILE`"
        ) from None
    if not isinstance(data, dict):
        raise ZooAuditError(
            f"{path} is not a zoo audit checkpoint", hint="give a file written by `zoo audit checkpoint -o FILE`"
        )
    return data


TABLE_ROWS = 100  # rows a table for people shows unless --limit says otherwise


def _print_query_result(result, args: argparse.Namespace, title: str) -> None:
    total = len(result.rows)
    limit = getattr(args, "limit", None)
    if limit is None:  # tables for people are cut (rich takes ~1 ms a row); files and JSON are whole
        limit = 0 if args.json or args.csv else TABLE_ROWS
    shown = result.rows[:limit] if limit else result.rows
    rows = [tuple(_cell(v) for v in row) for row in shown]
    if args.json:
        render.print_json([dict(zip(result.columns, row, strict=True)) for row in rows])
    elif args.csv:
        render.print_csv(result.columns, rows)
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"{title}: {total:,} rows", title_justify="left")
        for column in result.columns:
            table.add_column(escape(str(column)), overflow="fold")
        for row in rows:  # values are data, never markup
            table.add_row(*("" if v is None else escape(render.short(str(v), 80)) for v in row))
        console = render.console()
        console.print(table)
        if len(rows) < total:
            console.print(f"showing {len(rows):,} of {total:,} rows; --limit 0 for all, or --csv / --json for a file")


_SQLITE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")


def _cell(value: Any) -> Any:
    """Times print the same from both databases: ISO 8601 (UTC, microseconds). PostgreSQL
    returns datetimes; SQLite returns the text SQLAlchemy stored ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    import datetime as dt

    if isinstance(value, str) and len(value) in (19, 26):
        if _SQLITE_TIME.match(value):
            value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    return value.isoformat() if hasattr(value, "isoformat") else value


def cmd_sql(args: argparse.Namespace) -> int:
    statement = sys.stdin.read() if args.statement == "-" else args.statement
    from zoo.registry._readonly import Param

    params: dict[str, Param] = {}
    for item in args.param or ():
        key, sep, value = item.partition("=")
        name, _, kind = key.partition(":")
        if not sep or not name.strip():
            raise _usage(f"--param {item!r}: write NAME=VALUE or NAME:TYPE=VALUE (the statement says :NAME)")
        params[name.strip()] = Param.parse(name.strip(), value, kind or None)
    registry = _open_reader(args, sync=False)
    result = registry.read_only_sql(statement, params or None, timeout=args.timeout, max_rows=args.max_rows or None)
    _print_query_result(result, args, "sql")
    if result.truncated:
        render.console(stderr=True).print(
            f"[yellow]only the first {len(result.rows)} rows[/]; --max-rows 0 for all, or add LIMIT / WHERE"
        )
    return EXIT_OK


def cmd_card(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from zoo import cards

    if args.name == "import":
        if not args.card_file or not args.for_name:
            raise _usage("write `zoo card import README.md --for NAME`")
        card = cards.read_model_card(args.card_file, dataset_role=args.dataset_role)
        registry = _open_registry(args, sync=False)
        report = registry.import_card(args.for_name, card)
        if args.json:
            from zoo.records import to_jsonable

            render.print_json(to_jsonable(report) | {"changed": report.changed})
            return EXIT_OK
        console = render.console()
        if report.license is not None:
            console.print(
                f"licence: {escape(report.license.spdx)} (commercial use: {report.license.commercial_use.value})"
            )
        for label, items in (
            ("datasets", [f"{d.name} ({d.role.value})" for d in report.datasets_added]),
            ("metrics", [f"{m.dataset}/{m.split} {m.name}={m.value:g}" for m in report.metrics_added]),
            ("tags", list(report.tags_added)),
            ("card sections", [s.title or s.kind.value for s in report.sections_added]),
        ):
            if items:
                console.print(f"{label} +{len(items)}: {escape(', '.join(items))}")
        for note in report.skipped:
            console.print(f"[yellow]not imported[/]: {escape(note)}")
        console.print(
            f"{escape(report.name)}: "
            + ("imported; each change is in `zoo history`" if report.changed else "nothing new in the card")
        )
        return EXIT_OK
    if args.card_file or args.for_name:
        raise _usage("`zoo card NAME` writes a card; to read one: `zoo card import README.md --for NAME`")
    registry = _open_registry(args)
    info = registry.resolve(args.name)
    lineage = registry.audit_query("lineage", model=info.qualified_name)
    parents = {p.parent: registry.resolve(p.parent) for p in info.weights.parents}
    text = cards.render_model_card(info, lineage=lineage, parents=parents)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        render.console(stderr=True).print(
            f"wrote the model card of {escape(info.qualified_name)} to {escape(args.output)}"
        )
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from zoo import policy

    registry = _open_registry(args, sync=False)
    if args.policy_command == "set":
        if not args.name or not args.value:
            raise _usage("write `zoo policy set NAME require|off`, e.g. `zoo policy set commercial require`")
        changed = policy.set_policy(registry, args.name, args.value)
        render.console().print(
            f"policy {escape(args.name)}: {escape(args.value)}" + ("" if changed else " (unchanged)")
        )
        return EXIT_OK
    if args.policy_command == "check":
        if not args.name:
            raise _usage("write `zoo policy check NAME [--purpose get|finetune] [--acknowledge NAME]`")
        from zoo.plugins import default_host

        info = registry.resolve(args.name)
        decisions = policy.enforce(
            info, args.purpose, registry=registry, host=default_host(), acknowledge=args.acknowledge or ()
        )
        if args.json:
            from zoo.records import to_jsonable

            render.print_json(
                {
                    "weights": info.qualified_name,
                    "purpose": args.purpose,
                    "allowed": True,
                    "decisions": to_jsonable(list(decisions)),
                }
            )
            return EXIT_OK
        console = render.console()
        console.print(f"[green]allowed[/]: {escape(info.qualified_name)} for {args.purpose}")
        for d in decisions:
            console.print(f"  {escape(d.rule)}: ok" + (f" ({escape(d.reason)})" if d.reason else ""))
        return EXIT_OK
    states = policy.policy_states(registry)
    if args.json:
        render.print_json([s.to_dict() for s in states])
        return EXIT_OK
    console = render.console()
    console.print("revoked: [green]always refused[/] (rule zoo:revoked); deprecated: a warning")
    for s in states:
        state = f"[red]require[/] (set by {escape(s.set_by)})" if s.enabled else "off"
        console.print(f"{s.name}: {state} — {escape(s.description)}")
    return EXIT_OK


def cmd_store(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from zoo.plugins import default_host
    from zoo.weights import _publish

    registry = _open_registry(args, sync=False)
    host = default_host()
    if args.store_command == "set":
        if not args.url:
            raise _usage("write `zoo store set s3://BUCKET/PREFIX`")
        changed = _publish.set_default_store(registry, args.url, host=host)
        render.console().print(f"default store: {escape(args.url)}" + ("" if changed else " (unchanged)"))
        return EXIT_OK
    if args.store_command == "unset":
        changed = _publish.set_default_store(registry, None, host=host)
        render.console().print(
            "default store: none (new weights stay in the local cache)" + ("" if changed else " (unchanged)")
        )
        return EXIT_OK
    state = _publish.store_state(registry, host)
    if args.json:
        render.print_json(state)
        return EXIT_OK
    console = render.console()
    if state["store"] is None:
        console.print("default store: none — register_as and zoo.compress keep new weights in the local cache")
    else:
        console.print(
            f"default store: [bold]{escape(state['store'])}[/] (from {escape(state['origin'])}, "
            f"served by plugin {escape(str(state['plugin']))})"
        )
    if state["registry_setting"] and state["origin"] != "registry setting store.default":
        console.print(f"registry setting store.default: {escape(state['registry_setting'])} (overridden)")
    console.print(
        "stores that can receive weights: " + (", ".join(f"{s}://" for s in state["receiving_schemes"]) or "none")
    )
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        from zoo.registry import Registry

        registry = Registry(args.registry, create=True)
        revision = registry.upgrade()
        render.console().print(f"registry {registry.display_url} is at schema revision {revision}")
        return EXIT_OK
    if args.db_command == "path":
        from zoo.registry import default_url

        print(args.registry or default_url())
        return EXIT_OK
    if args.db_command == "dump":
        from zoo.registry.dump import catalogue_sql

        sql = catalogue_sql()
        if args.output == "-":
            sys.stdout.write(sql)
        else:
            with open(args.output, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(sql)
            render.console(stderr=True).print(f"wrote {args.output} ({len(sql):,} bytes)")
        return EXIT_OK
    raise _usage("choose a `zoo db` command: upgrade, dump, path")


def cmd_alias(args: argparse.Namespace) -> int:
    registry = _open_registry(args, sync=False)
    if args.remove:
        registry.remove_alias(args.name, args.alias)
        render.console().print(f"removed alias {args.alias} of {args.name}")
        return EXIT_OK
    registry.set_alias(args.name, args.alias, args.version)
    info = registry.resolve(f"{args.name.split('@')[0]}@{args.alias}")
    render.console().print(f"{info.ref}@{args.alias} -> version {info.version}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    registry = _open_registry(args, sync=False)
    info = registry.set_status(args.name, args.command, args.reason)
    render.console().print(f"{info.qualified_name} is now {info.weights.status.value}")
    return EXIT_OK


def cmd_note(args: argparse.Namespace) -> int:
    from zoo.records import CardSection

    registry = _open_registry(args, sync=False)
    section = CardSection(
        args.kind, args.body, title=args.title, references=tuple(args.reference or ()), severity=args.severity
    )
    registry.add_card_section(args.name, section)
    render.console().print(f"added a {section.kind.value} section to {args.name}")
    return EXIT_OK


def cmd_pin(args: argparse.Namespace) -> int:
    """Pin the sha256 of weights whose record pins none, from a file you checked (which
    also goes into the cache) or a hash; one audited event."""
    from zoo.records import Weights

    if (args.file is None) == (args.sha256 is None):
        raise _usage("give --file PATH or --sha256 HEX (one of them, not both)")
    if args.sha256 is not None:
        sha, origin = Weights(arch="x", tag="x", sha256=args.sha256.strip()).sha256, "manual"
    registry = _open_registry(args)
    info = registry.resolve(args.name)
    if args.file is not None:
        from pathlib import Path

        from zoo.errors import ZooIntegrityError
        from zoo.weights import add_file

        path = Path(args.file).expanduser().resolve()
        if not path.is_file():
            raise _usage(f"--file: {args.file} is missing or not a file")
        if info.weights.size_bytes is not None and path.stat().st_size != info.weights.size_bytes:
            raise ZooIntegrityError(
                f"{path} has {path.stat().st_size:,} bytes, {info.qualified_name} records "
                f"{info.weights.size_bytes:,}; nothing was pinned",
                hint="this is not the checkpoint the record describes",
            )
        if info.weights.status.value == "revoked" or info.weights.sha256 is not None:
            registry.pin(info.qualified_name, "0" * 64, origin="check")  # raises: revoked, or pinned already
        sha, origin = add_file(path).sha256, f"file {path}"  # hashed while copied into the cache
    pinned = registry.pin(info.qualified_name, sha, origin=origin)
    render.console().print(f"{pinned.qualified_name} pins sha256 {pinned.weights.sha256} ({pinned.pin_origin})")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from zoo import plugins

    registry = _open_registry(args, sync=False)
    reports = plugins.sync_registry(registry, plugins.default_host())
    if args.json:
        render.print_json([_report_dict(r) for r in reports])
        return EXIT_OK
    for r in reports:
        if r.error:
            render.console().print(f"[red]{r.plugin}: sync failed, nothing written[/]: {r.error}")
            continue
        render.console().print(
            f"{r.plugin}: +{len(r.weights_added)} weights, ~{len(r.weights_changed)} changed, "
            f"{r.unchanged} unchanged; +{len(r.families_added)} families"
        )
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _hand_over(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from zoo import plugins

    want = 1 if args.action == "retire" else 2
    if len(args.names) != want or not args.reason:
        raise _usage("write `zoo plugins retire NAME --reason TEXT` or `zoo plugins transfer FROM TO --reason TEXT`")
    source, target = args.names[0], (args.names[1] if want == 2 else None)
    if any(i.loaded and i.name == source for i in plugins.default_host().plugins):
        raise _usage(
            f"plugin {source!r} is installed and loaded: its next sync would claim the records again; "
            f"uninstall it or disable it (ZOO_DISABLE_PLUGINS={source}) first"
        )
    counts = _open_registry(args, sync=False).hand_over(source, target, reason=args.reason)
    render.console().print(
        f"{counts['families']} families and {counts['weights']} weights of plugin {escape(source)} "
        + (f"now belong to plugin {escape(target)}" if target else "retired (deprecated, now the registry's own)")
        + "; each change is in `zoo history NAME`"
    )
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace) -> int:
    from zoo import plugins

    if args.action in ("retire", "transfer"):
        return _hand_over(args)
    if args.names:
        raise _usage("`zoo plugins` takes no names; retire or transfer: `zoo plugins retire NAME --reason TEXT`")
    host = plugins.default_host()  # strict mode raises: exit 1
    from zoo.registry._lite import sqlite_path
    from zoo.registry._location import default_url

    path = sqlite_path(args.registry or default_url())
    if path is None or path.is_file():  # names the registry holds are its owners' (never create one here)
        try:
            host.use_registry_owners(_open_registry(args, sync=False).owners())
        except ZooError as exc:  # listing plugins does not need the registry
            render.console(stderr=True).print(
                f"[yellow]registry not read[/] ({exc.message}): conflicts are shown as on a fresh registry"
            )
    rows = plugins.plugins_report(host)
    if args.json:
        render.print_json(rows)
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"zoo plugins — {sum(r['status'] in ('ok', 'errors') for r in rows)} loaded", title_justify="left"
    )
    for column in ("plugin", "distribution", "status", "families", "weights", "recipes", "stores", "hooks"):
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "errors": "yellow", "failed": "red", "missing": "red", "disabled": "dim"}
    problems = []
    for r in rows:
        name = r["name"] + (" (core)" if r["core"] else "")
        table.add_row(
            name,
            f"{r['distribution'] or ''} {r['version'] or ''}".strip(),
            f"[{styles[r['status']]}]{r['status']}[/]",
            str(r["families"]),
            str(r["weights"]),
            str(r["recipes"]),
            str(r["weight_stores"]),
            ", ".join(h.removeprefix("zoo_") for h in r["hooks"]),
        )
        problems += [(r["name"], "red", e) for e in r["errors"]] + [(r["name"], "yellow", w) for w in r["warnings"]]
        if r["disabled"]:
            problems.append((r["name"], "dim", r["disabled"]))
    console = render.console()
    console.print(table)
    for name, style, text in problems:
        console.print(f"[{style}]{escape(name)}[/]: {escape(text)}")
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    import zoo

    registry = _open_registry(args, sync=False)  # zoo.get syncs the plugins itself, once
    model = zoo.get(
        args.name,
        num_classes=args.num_classes,
        device=args.device,
        offline=True if args.offline else None,
        registry=registry,
        progress=not args.json,  # a download bar on stderr
        acknowledge=args.acknowledge or (),
    )
    card = model.zoo
    if args.json:
        data = card.to_dict()
        data["num_params"] = sum(p.numel() for p in model.parameters())
        render.print_json(data)
        return EXIT_OK
    from rich.markup import escape

    console = render.console()
    console.print(
        f"[bold]{escape(card.qualified_name or card.arch)}[/] -> {type(model).__name__}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters on {card.device} ({card.dtype})"
    )
    if card.path:
        console.print(f"[dim]weights:[/] {escape(str(card.path))}")
    console.print("[bold]load report[/]")
    for line in card.load_report.summary().splitlines():
        console.print(f"  {escape(line)}")
    console.print("[bold]card[/]")
    for line in card.summary().splitlines()[1:]:
        console.print(f"  {escape(line)}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from zoo.weights import WeightsCache

    cache = WeightsCache(args.dir)
    failed = False
    if args.cache_command == "ls":
        rows = cache.inventory()
    elif args.cache_command == "prune":
        rows = cache.prune(everything=args.all, dry_run=args.dry_run)
    else:  # verify: sha256 of every byte of each entry (all of them by default)
        rows = []
        for sha in args.sha256 or [e["sha256"] for e in cache.inventory() if e["state"] in ("ok", "changed")]:
            try:
                fetched = cache.verify_full(sha)
                rows.append({"sha256": fetched.sha256, "state": "verified", "bytes": fetched.size})
            except ZooError as exc:
                failed = True
                rows.append(
                    {
                        "sha256": sha,
                        "state": "failed",
                        "problem": exc.message,
                        "quarantined": list(getattr(exc, "quarantined", ())),
                    }
                )
    if args.json:
        render.print_json({"cache": str(cache.root), "entries": rows})
        return EXIT_FAILED if failed else EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    verb = {"ls": "", "prune": " would go" if args.dry_run else " removed"}.get(args.cache_command, "")
    table = Table(
        title=f"{len(rows)} entries{verb}, {sum(r.get('bytes') or 0 for r in rows) / 1e6:,.1f} MB — {cache.root}",
        title_justify="left",
    )
    for column in ("sha256", "state", "MB", "detail"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "verified": "green", "changed": "yellow", "partial": "yellow"}
    for r in rows:
        detail = r.get("problem") or r.get("source") or ", ".join(r.get("files", ()))
        table.add_row(
            escape((r["sha256"] or "")[:16]),
            f"[{colours.get(r['state'], 'red')}]{r['state']}[/]",
            f"{(r.get('bytes') or 0) / 1e6:,.1f}",
            escape(str(detail or "")),
        )
    render.console().print(table)
    return EXIT_FAILED if failed else EXIT_OK


def _report_dict(report) -> dict[str, Any]:
    from zoo.records import to_jsonable

    return to_jsonable(report)


def _calm_threads() -> None:
    # Set before torch loads: idle OpenMP threads sleep instead of spinning, which keeps
    # a CPU-only run fast when other processes share the cores.
    if "torch" not in sys.modules:
        import os

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cmd_recipes(args: argparse.Namespace) -> int:
    from zoo.finetuning import recipes

    rows = recipes()
    if args.json:
        render.print_json(rows)
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"fine-tuning recipes — {len(rows)}", title_justify="left", show_lines=True)
    for column in ("recipe", "plugin", "what it does, when to use it", "hyper-parameters (defaults)"):
        table.add_column(column, overflow="fold")
    for r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        table.add_row(
            f"[bold]{escape(r['name'])}[/]",
            escape(f"{r['plugin']} {r['plugin_version'] or ''}".strip()),
            escape(r["description"]),
            escape(params),
        )
    render.console().print(table)
    return EXIT_OK


def _key_values(items: list[str] | None, *, example: str) -> dict[str, Any]:
    """``--param KEY=VALUE`` options -> keyword arguments (``-`` in a key becomes ``_``)."""
    values: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _usage(f"--param {item!r}: write KEY=VALUE, e.g. --param {example}")
        values[key.strip().replace("-", "_")] = _literal(value.strip())
    return values


def cmd_finetune(args: argparse.Namespace) -> int:
    _calm_threads()
    import zoo
    from zoo.finetuning import sources

    recipe_params = _key_values(args.param, example="backbone_lr_mult=0.3")
    from zoo.finetuning.trainer import seeded_get

    registry = _open_registry(args)
    # The new head is initialised from --seed: two runs with the same seed train the same
    # model. When the classes come from the data, no model is built here: zoo.finetune
    # builds it once, with a head sized from the labels.
    model: Any = (
        seeded_get(
            args.name,
            args.seed,
            num_classes=args.num_classes or 10,
            device=args.device,
            registry=registry,
            progress=not args.json,
        )
        if args.data == "digits" or args.num_classes
        else args.name
    )
    train, val, dataset = sources.load(
        args.data,
        model=model,
        model_name=args.name,
        registry=registry,
        image_size=args.image_size,
        per_class=args.per_class,
        val_fraction=args.val_fraction,
        seed=args.seed,
    )
    result = zoo.finetune(
        model,
        train,
        val,
        recipe=args.recipe,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        seed=args.seed,
        register_as=args.register_as,
        registry=registry,
        checkpoint_dir=args.checkpoint_dir,
        resume=args.resume,
        progress=False if args.json else None,
        dataset=args.dataset or dataset,
        acknowledge=args.acknowledge or (),
        **recipe_params,
    )
    if args.plot:
        from zoo.finetuning.plot import curves_png

        curves_png({result.recipe: result.metrics}, args.plot, title=f"{args.name} — {result.recipe}")
    if args.json:
        render.print_json(result.to_dict() | ({"plot": args.plot} if args.plot else {}))
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{escape(args.name)} — recipe {escape(result.recipe)} on {escape(dataset)}", title_justify="left"
    )
    for column in ("epoch", "phase", "train loss", "train acc", "val loss", "val acc", "time", "trainable"):
        table.add_column(column, justify="right")
    for m in result.metrics:
        table.add_row(
            str(m.epoch),
            m.phase,
            f"{m.train_loss:.4f}",
            f"{100 * m.train_accuracy:.1f}%",
            "" if m.val_loss is None else f"{m.val_loss:.4f}",
            "" if m.val_accuracy is None else f"{100 * m.val_accuracy:.1f}%",
            f"{m.time_s:.1f} s",
            f"{m.trainable_params:,}",
        )
    console = render.console()
    console.print(table)
    console.print(escape(result.summary()))
    if args.plot:
        console.print(f"curves: {escape(args.plot)}")
    if result.registered:
        console.print(f"see `zoo info {result.registered}` and `zoo history {result.registered.split('@')[0]}`")
    return EXIT_OK


def cmd_compressors(args: argparse.Namespace) -> int:
    from zoo.compression import compressors

    rows = compressors()
    if args.json:
        render.print_json(rows)
        return EXIT_OK
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"deployment methods (zoo compress) — {len(rows)}", title_justify="left", show_lines=True)
    for column in ("method", "relation", "plugin", "what it does", "options (defaults)"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            f"[bold]{escape(r['name'])}[/]",
            r["relation"],
            escape(str(r["plugin"])),
            escape(r["description"]),
            escape(", ".join(f"{k}={v}" for k, v in r["params"].items())),
        )
    render.console().print(table)
    return EXIT_OK


def cmd_compress(args: argparse.Namespace) -> int:
    _calm_threads()
    import zoo
    from zoo.finetuning import sources

    options = _key_values(args.param, example="ratio=0.3")
    if not args.sentences and not args.data:
        raise _usage("give --data (images with labels) or --sentences (a text file, one sentence a line)")
    sentences: list[str] = []
    if args.sentences:
        try:
            with open(args.sentences, encoding="utf-8") as f:
                sentences = [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise _usage(f"--sentences {args.sentences}: cannot read it ({exc})") from None
    from zoo.plugins import default_host

    default_host().compressor(args.method)  # an unknown method is refused before any model is fetched
    registry = _open_registry(args)
    model = zoo.get(args.name, device="cpu", registry=registry, progress=False)
    if args.sentences:
        calibration, evaluation, dataset = sentences, sentences, args.dataset
    else:
        train, val, dataset = sources.load(
            args.data,
            model=model,
            model_name=args.name,
            registry=registry,
            image_size=args.image_size,
            per_class=args.per_class,
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
        calibration, evaluation, dataset = train, val, args.dataset or dataset
    result = zoo.compress(
        model,
        args.method,
        calibration=calibration,
        eval=evaluation,
        register_as=args.register_as,
        registry=registry,
        threads=args.threads,
        repeats=args.repeats,
        eval_name=dataset,
        **options,
    )
    if args.json:
        render.print_json(result.to_dict())
        return EXIT_OK
    from rich.markup import escape

    console = render.console()
    console.print(escape(result.summary()))
    if result.registered:
        console.print(f"see `zoo info {args.name}` (deployment table) and `zoo info {result.registered}`")
    return EXIT_OK


def _literal(text: str) -> Any:
    """--param values: JSON (numbers, true/false, lists), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: fine-tune the real EfficientNet-Lite0 on digits, compare recipes with
    training from scratch, register the best with its lineage (zoo.finetuning.demo)."""
    _calm_threads()
    from zoo.finetuning.demo import run_demo

    return run_demo(
        registry_url=args.registry,
        image_size=args.image_size,
        per_class=args.per_class,
        epochs=args.epochs,
        keep=args.keep,
        plot=args.plot,
        console=render.console(),
    )


# -- parser --------------------------------------------------------------------------------


class _UsageError(ZooError):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message, hint="see `zoo --help`")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="A model zoo and registry for pretrained "
        "PyTorch backbones, with provenance, bias notes and an audit trail.",
    )
    parser.add_argument(
        "--registry", metavar="URL", help="registry database (default: $ZOO_REGISTRY_URL or $ZOO_HOME/registry.db)"
    )
    parser.add_argument("--version", action="version", version=f"zoo {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add("list", cmd_list, "list weights in the registry (shell wildcards, filters)")
    p.add_argument("pattern", nargs="?", help="shell wildcard on the weights or architecture name, e.g. 'resnet*'")
    p.add_argument("--modality", help="vision, text or multimodal")
    p.add_argument("--task", help="e.g. image-classification, feature-extraction")
    p.add_argument("--license", help="SPDX id, e.g. Apache-2.0")
    p.add_argument(
        "--commercial",
        help="what the weights' licence says of commercial use: allowed, forbidden, "
        "conditional, unknown (`zoo audit licences` adds the training data's "
        "terms and the parents)",
    )
    p.add_argument("--dataset", help="trained or evaluated on this dataset, e.g. imagenet-1k")
    p.add_argument("--status", help="active, deprecated or revoked")
    p.add_argument("--tag", help="a keyword tag")
    p.add_argument("--arch", help="an architecture name")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"at most this many rows (0: all; default: {TABLE_ROWS} in the table, all with --json)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-sync", action="store_true", help="do not sync installed plugins first")

    p = add("info", cmd_info, "show a model card: provenance, licence, datasets, metrics, bias notes, lineage")
    p.add_argument("name", help="arch, arch.tag, namespace/name, NAME@VERSION or NAME@ALIAS")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-sync", action="store_true")

    p = add("datasets", cmd_datasets, "list datasets: terms of use, commercial use, notes, how many weights name them")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-sync", action="store_true")
    p = add("dataset", cmd_dataset, "show one dataset: zoo dataset info NAME")
    p.add_argument("dataset_command", choices=["info"])
    p.add_argument("name", help="a dataset name, e.g. imagenet-1k")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-sync", action="store_true")

    p = add("history", cmd_history, "the audit trail of one model or architecture")
    p.add_argument("name")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = add("audit", cmd_audit, "audit queries over the registry (each is one SQL statement)")
    # No argparse choices: an unknown name is a typed error with the closest matches.
    from zoo.registry.queries import QUERIES

    p.add_argument("query", metavar="QUERY", help=", ".join([*AUDIT_COMMANDS, *QUERIES]))
    _add_audit_arguments(p)
    p.add_argument("--checkpoint", metavar="FILE", help="verify: also prove nothing changed up to this checkpoint")
    p.add_argument("-o", "--output", metavar="FILE", help="checkpoint: write the signed head to FILE (default stdout)")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"at most this many rows (0: all; default: {TABLE_ROWS} in the table, all with --json/--csv)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")

    p = add("sql", cmd_sql, "run ONE read-only SQL statement on the registry (the database refuses writes)")
    p.add_argument(
        "statement",
        help="e.g. \"SELECT name, license_spdx FROM weights\" ('-': read it from stdin); "
        "docs/schema.md documents the tables",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="bind :NAME in the statement (repeatable); NAME:TYPE=VALUE gives the type (text, int, "
        "float, timestamp, bool; default: an ISO date is a timestamp, digits an int, else text); "
        "an empty VALUE binds NULL",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="cancel the statement after SECONDS (default 30)")
    p.add_argument("--max-rows", type=int, default=10_000, help="at most this many rows (0: all; default 10000)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")

    p = add(
        "card",
        cmd_card,
        "write a model card (Markdown, Hugging Face metadata) from the registry, "
        "or import one: zoo card import README.md --for NAME",
    )
    p.add_argument("name", help="the weights whose card to write, or 'import'")
    p.add_argument("card_file", nargs="?", help="import: the model card (README.md) to read")
    p.add_argument("--for", dest="for_name", metavar="NAME", help="import: the weights to import the card into")
    p.add_argument(
        "--dataset-role",
        default="finetune",
        help="import: the role of the card's datasets: pretrain, finetune (default) or eval",
    )
    p.add_argument("-o", "--output", help="write the card to this file (default: stdout)")
    p.add_argument("--json", action="store_true", help="import: machine-readable report")
    p.add_argument("--no-sync", action="store_true")

    p = add("policy", cmd_policy, "usage policies checked by zoo.get / zoo.finetune: show, set, check")
    p.add_argument("policy_command", nargs="?", default="show", choices=["show", "set", "check"])
    p.add_argument("name", nargs="?", help="set: commercial or acknowledge-high-bias; check: the weights")
    p.add_argument("value", nargs="?", help="set: require or off")
    p.add_argument(
        "--purpose",
        default="get",
        help="check: the intended use: get (default), finetune, or your own (production, export ...)",
    )
    p.add_argument(
        "--acknowledge",
        action="append",
        metavar="NAME",
        help="check: acknowledge NAME's high-severity bias notes (repeatable)",
    )
    p.add_argument("--json", action="store_true")

    p = add(
        "store", cmd_store, "the team's default weight store (ZOO_STORE or the registry's setting): show, set, unset"
    )
    p.add_argument("store_command", nargs="?", default="show", choices=["show", "set", "unset"])
    p.add_argument("url", nargs="?", help="set: the store URL, e.g. s3://team-models/zoo")
    p.add_argument("--json", action="store_true", help="show: machine-readable")

    p = add("db", cmd_db, "registry database: upgrade the schema, dump the built-in catalogue as SQL")
    p.add_argument("db_command", choices=["upgrade", "dump", "path"])
    p.add_argument("-o", "--output", default="registry.db.sql", help="dump: file to write ('-' for stdout)")

    p = add("alias", cmd_alias, "point NAME@ALIAS at a version (moves an existing alias)")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("--version", type=int, help="the version (default: the newest, or NAME@VERSION)")
    p.add_argument("--remove", action="store_true")

    for status, help_text in (
        ("deprecate", "mark weights deprecated (still usable, with a warning)"),
        ("revoke", "revoke weights: zoo refuses to load them"),
        ("reactivate", "make deprecated or revoked weights active again"),
    ):
        p = add(status, cmd_status, help_text)
        p.add_argument("name")
        p.add_argument("--reason", required=status != "reactivate")
        p.set_defaults(command={"deprecate": "deprecated", "revoke": "revoked", "reactivate": "active"}[status])

    p = add("note", cmd_note, "add a model-card section: a bias / limitation note, intended use ...")
    p.add_argument("name")
    p.add_argument("body")
    p.add_argument(
        "--kind",
        default="bias_risks",
        help="bias_risks (default), limitations, intended_use, out_of_scope_use, recommendations",
    )
    p.add_argument("--title")
    p.add_argument("--reference", action="append", help="a reference (repeatable)")
    p.add_argument("--severity", help="low, medium or high")

    p = add(
        "pin",
        cmd_pin,
        "pin the sha256 of weights that pin none (audited): from a file you checked (also cached) or a hash",
    )
    p.add_argument("name")
    p.add_argument("--file", metavar="PATH", help="the checkpoint: its sha256 is pinned and it goes into the cache")
    p.add_argument("--sha256", metavar="HEX", help="the full sha256 (64 hex digits, `sha256sum FILE`)")

    p = add("sync", cmd_sync, "sync the installed plugins' records into the registry")
    p.add_argument("--json", action="store_true")

    p = add("get", cmd_get, "fetch, verify and build a model: prints the load report and the card summary")
    p.add_argument("name", help="arch, arch.tag, namespace/name, NAME@VERSION or NAME@ALIAS")
    p.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="a fresh head of N outputs (0: no head, pooled features; default: the pretrained head)",
    )
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps")
    p.add_argument("--offline", action="store_true", help="use the cache only, never the network")
    p.add_argument(
        "--acknowledge",
        action="append",
        metavar="NAME",
        help="acknowledge NAME's high-severity bias notes (policy acknowledge-high-bias; repeatable)",
    )
    p.add_argument("--json", action="store_true")

    p = add(
        "plugins",
        cmd_plugins,
        "the installed plugins: version, hooks, what they declare, failures; "
        "retire or transfer the records of a plugin that is gone",
    )
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=["list", "retire", "transfer"],
        help="list (default); retire NAME: its records become the registry's own, deprecated; "
        "transfer FROM TO: hand FROM's records to plugin TO",
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--reason", help="retire / transfer: why (kept in the audit trail)")
    p.add_argument("--json", action="store_true")

    p = add(
        "cache",
        cmd_cache,
        "the weights cache: ls (entries and their state), verify (sha256 of every "
        "byte; bad files quarantined), prune (damaged, partial and quarantined files; --all: everything)",
    )
    p.add_argument("cache_command", choices=["ls", "verify", "prune"])
    p.add_argument("sha256", nargs="*", help="verify: these entries only (default: all)")
    p.add_argument("--dir", help="the cache (default: $ZOO_HOME/weights)")
    p.add_argument("--all", action="store_true", help="prune: every entry too, not only the unusable files")
    p.add_argument("--dry-run", action="store_true", help="prune: say what would go, delete nothing")
    p.add_argument("--json", action="store_true")

    p = add("recipes", cmd_recipes, "the installed fine-tuning recipes: what each does, when to use it, defaults")
    p.add_argument("--json", action="store_true")

    p = add(
        "finetune", cmd_finetune, "fine-tune a model with a recipe; optionally register the result with its lineage"
    )
    p.add_argument("name", help="the model to start from: arch, arch.tag, namespace/name[@version]")
    p.add_argument(
        "--data",
        required=True,
        help="'digits' (scikit-learn's), a folder of class folders of images, "
        "or a .safetensors file with 'inputs' and 'labels'",
    )
    p.add_argument("--recipe", default="linear-probe", help="a recipe from `zoo recipes` (default: linear-probe)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a recipe hyper-parameter (repeatable)")
    p.add_argument("--num-classes", type=int, help="default: from the data's labels")
    p.add_argument("--register-as", metavar="TEAM/NAME", help="register the result (next version) with its lineage")
    p.add_argument(
        "--dataset", help="the data's name in the registry (default: digits -> uci-digits, or the folder's name)"
    )
    p.add_argument("--image-size", type=int, default=64, help="digits: upsample 8x8 to this (default 64)")
    p.add_argument("--per-class", type=int, help="keep this many training examples per class")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out for validation (not for digits)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", help="a checkpoint per epoch here")
    p.add_argument("--resume", action="store_true", help="continue the run in --checkpoint-dir")
    p.add_argument(
        "--acknowledge",
        action="append",
        metavar="NAME",
        help="weights whose high-severity bias notes you have read (policy acknowledge-high-bias)",
    )
    p.add_argument("--plot", metavar="PNG", help="write loss and accuracy curves to this PNG")
    p.add_argument("--json", action="store_true")

    p = add("compressors", cmd_compressors, "the installed deployment methods (quantize, prune, distill, export)")
    p.add_argument("--json", action="store_true")

    p = add(
        "compress",
        cmd_compress,
        "quantize, prune, distill or export a model; measure size, speed and "
        "quality against it; optionally register the result as its child",
    )
    p.add_argument("name", help="the model: arch, arch.tag, namespace/name[@version]")
    p.add_argument("--method", required=True, help="a method from `zoo compressors`")
    p.add_argument(
        "--data",
        help="calibration/training and eval images: 'digits', a folder of class folders, "
        "or a .safetensors file with 'inputs' and 'labels'",
    )
    p.add_argument("--sentences", metavar="FILE", help="text models: calibration and eval sentences, one a line")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a method option (repeatable)")
    p.add_argument("--register-as", metavar="TEAM/NAME", help="register the result as a child (next version)")
    p.add_argument("--dataset", help="the eval data's name in the metrics (default: the data's)")
    p.add_argument("--threads", type=int, help="CPU threads for the latency measurement (default: torch's)")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per batch size; the median is kept")
    p.add_argument("--image-size", type=int, default=64, help="digits: upsample 8x8 to this (default 64)")
    p.add_argument("--per-class", type=int, help="keep this many training examples per class")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out for eval (not for digits)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = add(
        "demo",
        cmd_demo,
        "the main job: fine-tune the real EfficientNet-Lite0 on digits offline, compare "
        "with training from scratch, register the best with its lineage",
    )
    p.add_argument("--image-size", type=int, default=64, help="digits upsampled to this (default 64)")
    p.add_argument("--per-class", type=int, default=30, help="training images per class (default 30)")
    p.add_argument("--epochs", type=int, default=4, help="epochs of full fine-tuning and scratch (default 4)")
    p.add_argument("--plot", metavar="PNG", help="write the runs' loss and accuracy curves to this PNG")
    p.add_argument("--keep", action="store_true", help="keep the temporary ZOO_HOME")

    # -- zoo catalogue (the browsable catalogue): parser and handlers in zoo/catalogue_site/cli.py
    from zoo.catalogue_site.cli import add_commands as add_catalogue_commands

    add_catalogue_commands(add, open_reader=_open_reader)
    # -- the transfer advisor (zoo rank / advise / drift / transfer-methods): its own module --
    from zoo.transfer.cli import add_commands as _transfer_commands

    _transfer_commands(add, open_registry=_open_registry, calm_threads=_calm_threads)

    return parser


def _version() -> str:
    from zoo import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except ZooError as exc:
        from rich.markup import escape

        console = render.console(stderr=True)
        console.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"  hint: {escape(exc.hint)}")
        return EXIT_USAGE if isinstance(exc, _UsageError) else EXIT_FAILED
    except BrokenPipeError:  # `zoo list | head`
        return EXIT_OK
    finally:
        for registry in reversed(getattr(args, "_zoo_opened", ())):
            try:
                registry.close()
            except Exception:  # noqa: BLE001 - closing must not hide the command's own result
                pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
