"""`aggregator feeds ...`: managing feeds from a terminal, through the running service's API.

The commands speak HTTP to the API (the one `make run` or compose serves), so they work wherever the
service runs and go through the same checks as any other client. OPML files are read here, with the
service's own reader, so an import shows its progress feed by feed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from aggregator.errors import ParseError
from aggregator.ingest.opml import read_opml
from aggregator.settings import Settings


class ApiError(Exception):
    """The API refused the request, or could not be reached: one line for the user."""


class Unreachable(ApiError):
    """No answer from the API at all: nothing further can be done this run."""


class ApiClient:
    def __init__(self, base: str, key: str | None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.base = base.rstrip("/")
        self.http = httpx.Client(base_url=self.base, headers=headers, timeout=timeout_s, trust_env=False)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise Unreachable(
                f"cannot reach the API at {self.base} ({exc}): is the service running? "
                "(`make run`; --api or AGGREGATOR_HOST and AGGREGATOR_PORT say where)"
            ) from exc
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise ApiError(f"{method} {path}: {resp.status_code} {detail}")
        return resp


def default_base(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def _add(api: ApiClient, args: argparse.Namespace) -> None:
    body = {"url": args.url, "title": args.title, "category": args.category}
    resp = api.call("POST", "/v1/feeds", json={k: v for k, v in body.items() if v is not None})
    feed = resp.json()
    print(f"{'added' if resp.status_code == 201 else 'known'} {feed['id']} {feed['url']}")


def _list(api: ApiClient, _: argparse.Namespace) -> None:
    cursor, header = None, f"{'id':18} {'status':12} {'category':20} url"
    while True:
        page = api.call("GET", "/v1/feeds", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        if header:
            print(header)
            header = ""
        for f in page.json()["items"]:
            status = "paused" if f["paused"] else f["last_status"] or "new"
            print(f"{f['id']:18} {status:12} {(f['category'] or '-')[:20]:20} {f['url']}")
        cursor = page.json()["next_cursor"]
        if not cursor:
            return


def _import(api: ApiClient, args: argparse.Namespace) -> None:
    try:
        listed = read_opml(Path(args.file).read_bytes())
    except OSError as exc:
        raise ApiError(f"cannot read {args.file}: {exc.strerror}") from exc
    except ParseError as exc:
        raise ApiError(f"{args.file}: {exc}") from exc
    added, known, refused = 0, 0, []
    for item in tqdm(listed, desc="importing", unit="feed", disable=args.quiet):
        body = {"url": item.url, "title": item.title, "category": item.category}
        try:
            resp = api.call("POST", "/v1/feeds", json={k: v for k, v in body.items() if v is not None})
        except Unreachable:
            raise
        except ApiError as exc:
            refused.append(f"{item.url}: {exc}")
            continue
        added, known = (added + 1, known) if resp.status_code == 201 else (added, known + 1)
    print(f"{args.file}: {added} added, {known} known already, {len(refused)} refused")
    for line in refused:
        print(f"  refused {line}")


def _export(api: ApiClient, args: argparse.Namespace) -> None:
    body = api.call("GET", "/v1/feeds.opml").content
    if args.output:
        Path(args.output).write_bytes(body)
        print(f"wrote {args.output}")
    else:
        sys.stdout.buffer.write(body)


def _pause(api: ApiClient, args: argparse.Namespace) -> None:
    feed = api.call("PATCH", f"/v1/feeds/{args.id}", json={"paused": args.action == "pause"}).json()
    print(f"{feed['id']} {'paused' if feed['paused'] else 'resumed'}")


ACTIONS = {
    "add": _add,
    "list": _list,
    "import": _import,
    "export": _export,
    "pause": _pause,
    "resume": _pause,
}


def add_parser(sub: Any) -> None:
    feeds = sub.add_parser(
        "feeds",
        help="add, list, import, export, pause and resume feeds through the running service's API",
        description="Manage feeds through the running service's API (AGGREGATOR_HOST, AGGREGATOR_PORT; "
        "the first of AGGREGATOR_API_KEYS is sent as the key when keys are set).",
    )
    feeds.add_argument("--api", help="the API's base URL (default: from AGGREGATOR_HOST and AGGREGATOR_PORT)")
    feeds.add_argument("--key", help="an API key (default: the first of AGGREGATOR_API_KEYS)")
    actions = feeds.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="subscribe to a feed; it is fetched at once")
    add.add_argument("url")
    add.add_argument("--title")
    add.add_argument("--category", help='a folder, "News/World" for nested ones')
    actions.add_parser("list", help="every feed with its status and category")
    imp = actions.add_parser(
        "import", help="subscribe to every feed of an OPML file; folders become categories"
    )
    imp.add_argument("file", metavar="FILE.opml")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    exp = actions.add_parser("export", help="every feed as OPML, to standard output or a file")
    exp.add_argument("-o", "--output", metavar="FILE.opml")
    for action, what in (("pause", "stop fetching a feed"), ("resume", "fetch a paused feed again")):
        actions.add_parser(action, help=what).add_argument("id", help="the feed's id (see `feeds list`)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    key = args.key or (settings.api_keys[0] if settings.api_keys else None)
    api = ApiClient(args.api or default_base(settings), key)
    try:
        ACTIONS[args.action](api, args)
    except ApiError as exc:
        print(f"aggregator feeds {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0
