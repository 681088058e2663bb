"""What every ``vir-gateway log`` command shares: exit codes, output that survives a closed pipe, one line
per failure, the operator, and the entry that logs a read or an action."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway import config
from gateway.errors import GatewayError
from gateway.log.invoer import InvoerFout
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store.db import Database
from store.migrate import upgrade

# Exit codes of every ``vir-gateway log`` command (docs/operators.md lists them too).
EXIT = {
    0: "done; the log (or bundle) verified intact",
    1: "verification found problems, or nothing was found",
    2: "wrong usage",
    # 3 as for the other operator commands: nothing could be done or logged.
    3: "the database or the signing key cannot be used",
    4: "a file given cannot be read or is not what it should be (bundle, certificate, checkpoint)",
    5: "an unexpected internal error (a bug: please report it)",
}


def uit(tekst: str = "") -> None:
    """Print to stdout; a reader that went away (``| head``) ends the output, not the command, so
    that the read is still logged."""
    try:
        print(tekst)
    except BrokenPipeError:
        stdout_weg()


def stdout_weg() -> None:
    # Python flushes stdout once more at exit; point it at /dev/null so that flush has nowhere to fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def fout(tekst: str) -> None:
    print(f"vir-gateway log: {tekst}", file=sys.stderr)


def veilig(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every failure as one line and an exit code from ``EXIT``, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except BrokenPipeError:
            stdout_weg()
            return 0
        except InvoerFout as exc:
            fout(str(exc))
            return 4
        except OSError as exc:
            fout(f"{exc.filename or 'a file'}: {exc.strerror or type(exc).__name__}")
            return 4
        except SQLAlchemyError as exc:
            fout(f"the database cannot be used ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            return 3
        except GatewayError as exc:
            fout(f"{exc.message_en} ({exc.code})")
            return 3
        except Exception as exc:
            # The type only: a message can quote a value of the data (docs/privacy.md, process output).
            fout(f"internal error ({type(exc).__name__}); please report it")
            return 5

    run.__doc__ = fn.__doc__
    return run


def operator(args: argparse.Namespace) -> str:
    return str(args.operator or os.environ.get("VIR_OPERATOR") or getpass.getuser())


def open_log() -> tuple[config.Settings, Database, Logboek]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db, Logboek(settings, db)


def audit(logboek: Logboek, args: argparse.Namespace, soort: str, wat: dict[str, Any]) -> None:
    """Log an operator's read (inzage) or action (beheer) in its own transaction."""
    payload = json.dumps({"opdracht": args.logcmd, **wat}, ensure_ascii=False, sort_keys=True).encode()
    with logboek.db.transaction() as s:
        logboek.schrijf(s, [Logregel(logboek.nu(), soort, f"log {args.logcmd}", operator(args), payload)])
