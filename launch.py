"""Start NOVAI Studio: the Huey consumer (in-process thread workers) and the Gradio app.

    python launch.py [--host 127.0.0.1] [--port 7860] [--share] [--no-worker] [--auth user:password]

All state lives under NOVAI_DATA_DIR (default ./novai-data). See README.md for every setting.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description="NOVAI Studio")
    parser.add_argument("--host", default=os.environ.get("NOVAI_HOST", "127.0.0.1"),
                        help="interface to listen on (default 127.0.0.1; 0.0.0.0 needs --auth)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NOVAI_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="public Gradio link (needs --auth)")
    parser.add_argument("--no-worker", action="store_true",
                        help="do not start the in-process queue consumer (run huey_consumer instead)")
    parser.add_argument("--auth", default=os.environ.get("NOVAI_AUTH", ""),
                        help="user:password required to open the studio (also NOVAI_AUTH)")
    parser.add_argument("--no-auth", action="store_true",
                        help="allow --share/--host 0.0.0.0 without a password (trusted networks only)")
    return parser.parse_args(argv)


def resolve_auth(args: argparse.Namespace) -> tuple[str, str] | None:
    """The (user, password) pair to pass to Gradio, or None.

    Raises SystemExit with a message when the studio would be reachable by others without a password.
    """
    exposed = args.share or args.host not in ("127.0.0.1", "localhost", "::1")
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("--auth / NOVAI_AUTH must look like user:password")
        return user, password
    if exposed and not args.no_auth:
        raise SystemExit(
            "Refusing to start: --share or --host %s makes the studio reachable by others. "
            "Set NOVAI_AUTH=user:password (or --auth user:password), or pass --no-auth on a trusted "
            "network." % args.host
        )
    if exposed:
        print("WARNING: the studio is reachable by others with no password (--no-auth).", file=sys.stderr)
    return None


def main(argv: list[str] | None = None) -> None:
    """Parse options, recover interrupted jobs, start the consumer and serve the app until Ctrl-C."""
    args = parse_args(argv)
    auth = resolve_auth(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from jobs.recovery import recover_interrupted_jobs
    from media.settings import get_settings
    from studio.app import build_app

    settings = get_settings()
    print(f"NOVAI Studio data folder: {settings.data_dir}")
    recovered = recover_interrupted_jobs()
    if recovered:
        print(f"Recovered {recovered} job(s) interrupted by the last shutdown.")

    consumer = None
    if not args.no_worker:
        from jobs.consumer import start_consumer

        consumer = start_consumer(workers=settings.workers)

    demo = build_app()
    try:
        demo.queue(default_concurrency_limit=8).launch(
            server_name=args.host, server_port=args.port, share=args.share, auth=auth,
            allowed_paths=[str(settings.media_dir)],
            max_file_size=f"{settings.max_upload_mb}mb",
        )
    finally:
        if consumer is not None:
            from jobs.consumer import stop_consumer

            stop_consumer(consumer, graceful=False)


if __name__ == "__main__":
    main()
