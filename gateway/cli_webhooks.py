"""`gateway … webhook set|list|remove`: departments' webhooks, for the audit trail (`gateway audit
webhook`) and for the workflow's notifications (`gateway workflow webhook`), one set of commands.

No `from __future__ import annotations` here: typer reads the commands' annotations at run time,
and they name the factory's arguments."""

import asyncio
import sys
from typing import Annotated, Optional

import typer

from gateway.cli_common import DataDir, _settings

Operator = Annotated[str, typer.Option("--operator", help="Who runs it, by real-name id: a registered, active "
                                       "operator (audited).")]


def webhook_commands(feed: str, item: str, *, table: str) -> typer.Typer:
    """The commands for the webhooks of `table`, which receive each department's slice of `feed`."""
    from store import tables

    webhooks = tables.metadata.tables[table]
    app = typer.Typer(help=f"Departments' webhooks that receive their slice of {feed}.", no_args_is_help=True)

    @app.command("set")
    def webhook_set(
        department: Annotated[str, typer.Argument(help="The department's code.")],
        url: Annotated[str, typer.Argument(help="https URL, on a public address, that receives the signed NDJSON posts.")],
        operator: Operator,
        secret: Annotated[Optional[str], typer.Option("--secret", help="HMAC key of the signature, at least 16 "
                                                      "characters (default: one is generated and printed).")] = None,
        skip_history: Annotated[bool, typer.Option(
            "--skip-history", help=f"Start from the next {item} instead of the department's whole slice (or, for a "
            "webhook already set, instead of where it stands).")] = False,
        allow_insecure: Annotated[bool, typer.Option(
            "--allow-insecure", help="Also accept http and hosts on loopback, private or link-local addresses (a "
            "receiver on this machine or a trusted private network).")] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Register or replace DEPARTMENT's webhook (a replaced one keeps its delivery cursor); audited."""
        from gateway.push import WebhookError, register_webhook

        try:
            in_force = asyncio.run(register_webhook(_settings(data_dir), department, url, secret, skip_history,
                                                    operator=operator, allow_insecure=allow_insecure, table=webhooks))
        except WebhookError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            raise typer.Exit(code=1) from None
        print(f"webhook of {department}: {url}")
        if secret is None:
            print(f"secret: {in_force}  (give it to the receiver; it is not shown again)")
        print("a running gateway that pushed no webhook yet starts pushing at its next start", file=sys.stderr)


    @app.command("list")
    def webhook_list(data_dir: DataDir = None) -> None:
        """Each department's webhook and delivery state (never the secret)."""
        from gateway.push import list_webhooks

        for w in asyncio.run(list_webhooks(_settings(data_dir), table=webhooks)):
            state = f"failing x{w.failures}: {w.last_error}" if w.failures else "ok"
            print(f"{w.department}\t{w.url}\tacked through seq {w.acked_seq}\tlast delivery {w.delivered_at or '-'}\t{state}")


    @app.command("remove")
    def webhook_remove(department: str, operator: Operator, data_dir: DataDir = None) -> None:
        """Stop pushing to DEPARTMENT's webhook and forget its delivery cursor; audited."""
        from gateway.push import WebhookError, unregister_webhook

        try:
            removed = asyncio.run(unregister_webhook(_settings(data_dir), department, operator=operator, table=webhooks))
        except WebhookError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            raise typer.Exit(code=1) from None
        if not removed:
            print(f"no webhook for {department}", file=sys.stderr)
            raise typer.Exit(code=1)
        print(f"removed the webhook of {department}")

    return app
